/**
 * The container images a stack's nodes pull from registries outside the stack (everything but the
 * agent image it builds itself): what to check exists before the first deploy, because a missing
 * tag shows up only when a node boots (the small box without Caddy serves no TLS at all).
 */
import { validateAwsConfig } from '../../components/aws/validate.js';
import type { StackConfig } from '../../components/config.js';
import { PINNED_IMAGES } from '../../components/livekit/compose.js';
import type { DeploymentPlan } from '../../components/plan/plan.js';
import { inferenceServers } from '../../components/inference/plan.js';

export interface StackImage {
  /** What runs it, e.g. "livekit-server", "Caddy L4 (aws.caddyImage)". */
  role: string;
  image: string;
}

/** The images of a stack's nodes, from its validated config and plan. Pure. */
export function stackImages(config: StackConfig, plan: DeploymentPlan): StackImage[] {
  const placement = validateAwsConfig(config, plan);
  const images: StackImage[] = [{ role: 'livekit-server', image: PINNED_IMAGES.livekit }];
  if (plan.redis.mode === 'local') images.push({ role: 'Redis on the node', image: PINNED_IMAGES.redis });
  if (plan.tier === 'small') {
    images.push({ role: placement.caddyImage ? 'Caddy L4 (aws.caddyImage)' : 'Caddy L4 (default; aws.caddyImage overrides it)', image: placement.caddyImage ?? PINNED_IMAGES.caddy });
  }
  if (plan.sip.enabled) images.push({ role: 'LiveKit SIP', image: PINNED_IMAGES.sip });
  if (placement.agentImage) images.push({ role: 'agent (aws.agentImage)', image: placement.agentImage });
  // The local models' servers (inference.<m>.image): a missing tag shows only when a GPU boots.
  for (const server of inferenceServers(plan.inference)) images.push({ role: `local ${server.modality.toUpperCase()} server (inference.${server.modality}.image)`, image: server.image });
  return images;
}
