/**
 * Pure renderers for the nodes the AWS components start: livekit.yaml, Caddy's config, docker
 * compose and cloud-init user data, plus the port table the security groups are built from.
 * No Pulumi, no I/O, no clock: args in, text out.
 */
export * from './agent-env.js';
export * from './caddy.js';
export * from './cloud-init.js';
export * from './compose.js';
export * from './layout.js';
export * from './livekit-yaml.js';
export * from './ports.js';
export * from './secret-arn.js';
