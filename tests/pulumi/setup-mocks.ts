/**
 * vitest setup of the "pulumi" project: installs the engine-like mocks before any test file
 * imports a component or the program (a static import would register resources against the real
 * runtime, and their outputs would resolve to undefined). Tests read what was registered with
 * `registeredResources()` from ./helpers.
 */
import { installMocks, type RecordedResource } from '../../scripts/lib/pulumi-mocks.js';

const { resources, refusals } = await installMocks({ project: 'voice-agent-infra', stack: 'test', region: 'us-east-1' });
(globalThis as { __voiceAgentMockResources?: RecordedResource[] }).__voiceAgentMockResources = resources;
// Registrations AWS would refuse (components/aws/aws-rules.ts), for tests to assert on.
(globalThis as { __voiceAgentMockRefusals?: Error[] }).__voiceAgentMockRefusals = refusals;
