/** Shared helpers of the Pulumi tests: recorded resources, awaiting outputs, stack files. */
import { readFileSync } from 'node:fs';
import * as pulumi from '@pulumi/pulumi';
import { configFromStackFile, type StackConfig } from '../../components/config.js';
import type { RecordedResource } from '../../scripts/lib/pulumi-mocks.js';
import { stackFile } from '../../scripts/lib/stacks.js';

/** Resources registered in this test file's process so far (installed by setup-mocks.ts). */
export function registeredResources(): RecordedResource[] {
  const list = (globalThis as { __voiceAgentMockResources?: RecordedResource[] }).__voiceAgentMockResources;
  if (!list) throw new Error('the Pulumi mocks are not installed (tests/pulumi/setup-mocks.ts)');
  return list;
}

/** Registrations the mocks refused as AWS would (messages name the resource, input and rule). */
export function refusedRegistrations(): string[] {
  return ((globalThis as { __voiceAgentMockRefusals?: Error[] }).__voiceAgentMockRefusals ?? []).map((e) => e.message);
}

/** The value of an output (mocks run with preview = false, so every output resolves). */
export function valueOf<T>(output: pulumi.Input<T>): Promise<pulumi.Unwrap<T>> {
  return new Promise((resolve) => pulumi.output(output).apply((v) => resolve(v as pulumi.Unwrap<T>)));
}

/** The validated config of an example stack. */
export function exampleConfig(stack: string): StackConfig {
  return configFromStackFile(readFileSync(stackFile(stack), 'utf8'), `stacks/Pulumi.${stack}.yaml`);
}

export const EXAMPLE_STACKS = ['small', 'mid', 'large'] as const;

/** The Kubernetes example stacks (target: kubernetes). */
export const K8S_EXAMPLE_STACKS = ['k8s-small', 'k8s-mid', 'k8s-large'] as const;
