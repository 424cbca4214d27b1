/**
 * The deploy settings of the `aws` config section reach the resources: the real program under the
 * strict mocks, with config layered over an example stack as `pulumi config set` would write it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DRAIN_HOOK_MARGIN_SECONDS } from '../../components/aws/scaling-group.js';
import { AGENT_CLOSE_SECONDS, type ComposeFile, NODE_FILES, PINNED_IMAGES } from '../../components/livekit/index.js';
import { userDataText } from '../../components/policy/policies.js';
import { offlinePlan, offlinePlanWithOverrides, type OfflinePlan, type PlannedResource } from '../../scripts/lib/offline-plan.js';

const AMI = 'ami-0123456789abcdef0';
const CADDY = 'registry.example.com/mirror/caddyl4:v2.11.4';
let mid: OfflinePlan;
let small: OfflinePlan;
let defaults: OfflinePlan;

beforeAll(async () => {
  [mid, small, defaults] = await Promise.all([
    offlinePlanWithOverrides('mid', { 'aws.ecrForceDelete': true, 'aws.amiId': AMI, 'aws.healthCheckGraceSeconds': 900, 'aws.drainSeconds': 1200 }),
    offlinePlanWithOverrides('small', { 'aws.caddyImage': CADDY }),
    offlinePlan('small'),
  ]);
}, 180_000);

const of = (plan: OfflinePlan, type: string) => plan.resources.filter((r) => r.type === type);
function composeOf(machine: PlannedResource): ComposeFile {
  const text = userDataText(machine.type, machine.inputs)!;
  const files = (parse(text) as { write_files: Array<{ path: string; content: string }> }).write_files;
  return parse(files.find((f) => f.path === NODE_FILES.compose)!.content) as ComposeFile;
}

describe('deploy settings from config', () => {
  it('the agent image repository: mutable tags, the image run by digest, destroy keeps it unless asked', () => {
    const [repo] = of(defaults, 'aws:ecr/repository:Repository');
    expect(repo!.inputs).toMatchObject({ imageTagMutability: 'MUTABLE', forceDelete: false, imageScanningConfiguration: { scanOnPush: true } });
    expect(defaults.outputs.agentImage).toMatch(/:src-[0-9a-f]{12}@sha256:[0-9a-f]{64}$/);
    expect(of(mid, 'aws:ecr/repository:Repository')[0]!.inputs.forceDelete).toBe(true);
  });

  it('aws.amiId pins every machine; the groups get the configured grace and a hook that outlasts the drain', () => {
    expect(of(mid, 'aws:ec2/instance:Instance')[0]!.inputs.ami).toBe(AMI);
    const [template] = of(mid, 'aws:ec2/launchTemplate:LaunchTemplate');
    expect(template!.inputs.imageId).toBe(AMI);
    const [group] = of(mid, 'aws:autoscaling/group:Group');
    expect(group!.inputs.healthCheckGracePeriod).toBe(900);
    const [hook] = of(mid, 'aws:autoscaling/lifecycleHook:LifecycleHook');
    // The agent worker drains 1200 s, closes within its close time; the hook waits for both.
    expect(hook!.inputs.heartbeatTimeout).toBe(1200 + AGENT_CLOSE_SECONDS + DRAIN_HOOK_MARGIN_SECONDS);
    const compose = composeOf(template!);
    expect(compose.services.agent!.environment!.AGENT_DRAIN_TIMEOUT_SECONDS).toBe('1200');
    expect(compose.services['drain-watch']!.environment!.DRAIN_SECONDS).toBe(String(1200 + AGENT_CLOSE_SECONDS));
    // The single node's LiveKit drains as long.
    expect(composeOf(of(mid, 'aws:ec2/instance:Instance')[0]!).services.livekit!.stop_grace_period).toBe('1200s');
  });

  it('aws.caddyImage replaces the default Caddy L4 image on the small box', () => {
    expect(composeOf(of(small, 'aws:ec2/instance:Instance')[0]!).services.caddy!.image).toBe(CADDY);
    expect(composeOf(of(defaults, 'aws:ec2/instance:Instance')[0]!).services.caddy!.image).toBe(PINNED_IMAGES.caddy);
  });
});
