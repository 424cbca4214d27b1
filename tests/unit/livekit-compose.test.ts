import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  AGENT_CLOSE_SECONDS,
  AGENT_IMAGE_VARIABLE,
  assertPinnedImage,
  callHoldingServices,
  DATA_DIR,
  DRAIN_HOOK_NAME,
  type ComposeArgs,
  type ComposeFile,
  type ComposeService,
  ecrRegistryOf,
  LIVEKIT_SERVER_VERSION,
  NODE_FILES,
  NODE_ROLES,
  type NodeRole,
  parseImageRef,
  PINNED_IMAGES,
  renderCompose,
  SECRET_ENV_NAMES,
  servicesFor,
} from '../../components/livekit/index.js';
import { AGENT_IMAGE, API_KEY } from './livekit-fixtures.js';

function composeArgs(role: NodeRole, patch: Partial<ComposeArgs> = {}): ComposeArgs {
  return { role, agentImage: AGENT_IMAGE, livekitApiKey: API_KEY, ...(role === 'agent' ? { livekitUrl: 'wss://voice.example.com' } : {}), ...patch };
}

function rendered(role: NodeRole, patch: Partial<ComposeArgs> = {}): ComposeFile {
  return parse(renderCompose(composeArgs(role, patch))) as ComposeFile;
}

function service(file: ComposeFile, name: keyof ComposeFile['services']): ComposeService {
  const found = file.services[name];
  if (!found) throw new Error(`no ${name} service`);
  return found;
}

/** A Redis command as one string: a list of args, or the `sh -c` script on mid. */
function redisCommand(file: ComposeFile): string {
  return (service(file, 'redis').command ?? []).join(' ');
}

describe('compose: services per role', () => {
  it.each([
    ['small', ['caddy', 'livekit', 'redis', 'intake', 'dispatcher', 'agent-a', 'agent-b']],
    ['livekit-mid', ['livekit', 'redis', 'intake', 'dispatcher']],
    ['livekit-large', ['livekit', 'intake', 'dispatcher', 'drain-watch']],
    ['agent', ['agent', 'drain-watch']],
  ] as const)('%s runs exactly %j', (role, expected) => {
    expect(Object.keys(rendered(role).services)).toEqual(expected);
    expect(servicesFor(role)).toEqual(expected);
  });

  it('Caddy runs only on the small tier, with LiveKit’s caddyl4 image and the YAML adapter', () => {
    for (const role of NODE_ROLES) expect(Object.hasOwn(rendered(role).services, 'caddy'), role).toBe(role === 'small');
    const caddy = service(rendered('small'), 'caddy');
    expect(caddy.image).toBe(PINNED_IMAGES.caddy);
    expect(caddy.command).toEqual(['run', '--config', '/etc/caddy.yaml', '--adapter', 'yaml']);
    expect(caddy.volumes).toContain(`${NODE_FILES.caddyConfig}:/etc/caddy.yaml:ro`);
  });

  it('every container uses host networking, as LiveKit’s generator does', () => {
    for (const role of NODE_ROLES) {
      for (const [name, svc] of Object.entries(rendered(role).services)) expect(svc.network_mode, `${role}/${name}`).toBe('host');
    }
  });

  it('the agent image runs one role per service: command = the role (both agent slots run the agent role)', () => {
    const file = rendered('small');
    for (const [name, role] of [['intake', 'intake'], ['dispatcher', 'dispatcher'], ['agent-a', 'agent'], ['agent-b', 'agent']] as const) {
      expect(service(file, name).image).toBe(AGENT_IMAGE);
      expect(service(file, name).command).toEqual([role]);
    }
    expect(service(rendered('agent'), 'agent').command).toEqual(['agent']);
  });
});

describe('compose: pinned versions', () => {
  it.each(NODE_ROLES)('%s: every image is pinned (a tag other than latest, or a digest)', (role) => {
    for (const [name, svc] of Object.entries(rendered(role).services)) {
      const ref = parseImageRef(svc.image);
      expect(ref.digest ?? ref.tag, `${role}/${name}: ${svc.image}`).toBeDefined();
      expect(ref.tag, `${role}/${name}`).not.toBe('latest');
    }
  });

  it('LiveKit runs the exported server version', () => {
    expect(LIVEKIT_SERVER_VERSION).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(service(rendered('livekit-large'), 'livekit').image).toBe(`livekit/livekit-server:${LIVEKIT_SERVER_VERSION}`);
  });

  it.each(['voice-agent', 'voice-agent:latest', 'registry.example.com:5000/voice-agent', 'Voice Agent:1'])('refuses the unpinned image %s', (image) => {
    expect(() => renderCompose(composeArgs('agent', { agentImage: image }))).toThrow(/agentImage/);
    expect(() => renderCompose(composeArgs('small', { images: { redis: image } }))).toThrow(/images.redis/);
  });

  it('accepts a digest pin and a registry with a port', () => {
    expect(() => assertPinnedImage('x', `voice-agent@sha256:${'a'.repeat(64)}`)).not.toThrow();
    expect(() => assertPinnedImage('x', 'registry.example.com:5000/team/voice-agent:2.0.1')).not.toThrow();
    expect(parseImageRef('livekit/livekit-server:v1.9.1')).toEqual({ repository: 'livekit/livekit-server', tag: 'v1.9.1' });
  });

  it('finds the ECR registry and region of an ECR image (the boot script logs in there), and nothing for Docker Hub', () => {
    expect(ecrRegistryOf(AGENT_IMAGE)).toEqual({ registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com', region: 'us-east-1' });
    expect(ecrRegistryOf('livekit/livekit-server:v1.9.1')).toBeUndefined();
    expect(ecrRegistryOf('ghcr.io/acme/voice-agent:1')).toBeUndefined();
  });
});

describe('compose: Redis', () => {
  it.each(['small', 'livekit-mid'] as const)('%s: AOF with fsync every second and noeviction (BullMQ), data on the node data volume', (role) => {
    const file = rendered(role);
    const command = redisCommand(file);
    expect(command).toMatch(/--appendonly yes(\s|$)/);
    expect(command).toMatch(/--appendfsync everysec(\s|$)/);
    expect(command).toMatch(/--maxmemory-policy noeviction(\s|$)/);
    // The AOF lives on the EBS data volume a replacement instance reattaches, not on the root disk.
    expect(service(file, 'redis').volumes).toEqual([`${DATA_DIR}/redis:/data`]);
    expect(file.volumes ?? {}).not.toHaveProperty('redis-data');
  });

  it("small: Caddy's certificates live on the data volume too (ACME rate limits a re-issue)", () => {
    expect(service(rendered('small'), 'caddy').volumes).toContain(`${DATA_DIR}/caddy:/data`);
  });

  it.each(['small', 'livekit-mid'] as const)('%s: bound to named addresses, never to all interfaces', (role) => {
    const command = redisCommand(rendered(role));
    expect(command).toMatch(/--bind 127\.0\.0\.1/);
    expect(command).not.toMatch(/0\.0\.0\.0|--bind \*|"::"|--bind ::/);
  });

  it('small: loopback only, no password (nothing off the box reaches it)', () => {
    const redis = service(rendered('small'), 'redis');
    expect(redis.command).toEqual(expect.arrayContaining(['--bind', '127.0.0.1']));
    expect(redis.command![redis.command!.indexOf('--bind') + 2]).toMatch(/^--/);
    expect(redis.env_file).toBeUndefined();
  });

  it('mid: also the private address, with AUTH fed on stdin from the boot-written env file, never in argv', () => {
    const redis = service(rendered('livekit-mid'), 'redis');
    const script = redis.command![2]!;
    expect(redis.command!.slice(0, 2)).toEqual(['sh', '-c']);
    // `$$` survives compose interpolation as `$` for the container's shell.
    expect(script).toContain('--bind 127.0.0.1 "$$NODE_PRIVATE_IP"');
    expect(script).toMatch(/ - <<EOF\nrequirepass "\$\$REDIS_PASSWORD"\nEOF\n/);
    expect(script).not.toContain('--requirepass');
    expect(redis.env_file).toEqual([NODE_FILES.redisEnv]);
  });

  it('maxmemory from the plan, in MiB, only where Redis runs on the node', () => {
    expect(redisCommand(rendered('livekit-mid', { redisMaxMemoryMiB: 2048 }))).toContain('--maxmemory 2048mb');
    expect(() => renderCompose(composeArgs('livekit-large', { redisMaxMemoryMiB: 2048 }))).toThrow(/redisMaxMemoryMiB/);
  });

  it('no Redis container where Redis is ElastiCache or elsewhere', () => {
    expect(rendered('livekit-large').services).not.toHaveProperty('redis');
    expect(rendered('agent').services).not.toHaveProperty('redis');
  });
});

describe('compose: secrets and environment', () => {
  it.each(NODE_ROLES)('%s: no secret variable is set inline; secrets come from env files in the boot-written run dir', (role) => {
    for (const [name, svc] of Object.entries(rendered(role).services)) {
      for (const key of Object.keys(svc.environment ?? {})) expect(SECRET_ENV_NAMES, `${role}/${name}`).not.toContain(key);
      for (const file of svc.env_file ?? []) expect(file.startsWith(`${NODE_FILES.runDir}/`), `${role}/${name}: ${file}`).toBe(true);
    }
  });

  it('LiveKit reads its secrets from livekit.env and its config read-only', () => {
    const livekit = service(rendered('livekit-large'), 'livekit');
    expect(livekit.env_file).toEqual([NODE_FILES.livekitEnv]);
    expect(livekit.command).toEqual(['--config', '/etc/livekit.yaml']);
    expect(livekit.volumes).toEqual([`${NODE_FILES.livekitConfig}:/etc/livekit.yaml:ro`]);
  });

  it('the agent image gets the issue-4 environment: non-secret values inline, LiveKit on loopback on LiveKit nodes', () => {
    const intake = service(rendered('small', { fleetCapacitySessions: 20, callMaxAttempts: 4, callMaxWaitSeconds: 90, metricsNamespace: 'Acme/Voice' }), 'intake');
    expect(intake.env_file).toEqual([NODE_FILES.agentEnv]);
    expect(intake.environment).toEqual({
      LIVEKIT_URL: 'http://127.0.0.1:7880',
      LIVEKIT_API_KEY: API_KEY,
      AGENT_NAME: 'voice-agent',
      METRICS_NAMESPACE: 'Acme/Voice',
      INTAKE_PORT: '8080',
      FLEET_CAPACITY: '20',
      CALL_MAX_ATTEMPTS: '4',
      CALL_MAX_WAIT_SECONDS: '90',
      HEALTHCHECK_URL: 'http://127.0.0.1:8080/healthz',
    });
  });

  it('agent nodes dial the LiveKit URL they are given and need it', () => {
    expect(service(rendered('agent'), 'agent').environment?.LIVEKIT_URL).toBe('wss://voice.example.com');
    expect(() => renderCompose({ role: 'agent', agentImage: AGENT_IMAGE, livekitApiKey: API_KEY })).toThrow(/livekitUrl is required/);
  });

  it('extra environment: secret names refused, `$` escaped for compose', () => {
    expect(() => renderCompose(composeArgs('small', { extraEnvironment: { LIVEKIT_API_SECRET: 'x' } }))).toThrow(/secret/);
    expect(() => renderCompose(composeArgs('small', { extraEnvironment: { AGENT_NAME: 'x' } }))).toThrow(/own argument/);
    const agent = service(rendered('small', { extraEnvironment: { STACK_NAME: 'mid', PRICE_NOTE: 'costs $5' } }), 'agent-a');
    expect(agent.environment?.STACK_NAME).toBe('mid');
    expect(agent.environment?.PRICE_NOTE).toBe('costs $$5');
  });
});

describe('compose: lifecycle and logs', () => {
  it('LiveKit gets 500000 open files in its container and a drain period; the worker drains calls too, with time to close', () => {
    const file = rendered('small', { drainSeconds: 900 });
    expect(service(file, 'livekit').ulimits).toEqual({ nofile: { soft: 500000, hard: 500000 } });
    expect(service(file, 'livekit').stop_grace_period).toBe('900s');
    // Docker's default (10 s) would kill a draining worker: its own drain deadline, plus its close time.
    for (const slot of ['agent-a', 'agent-b'] as const) {
      expect(service(file, slot).environment?.AGENT_DRAIN_TIMEOUT_SECONDS).toBe('900');
      expect(service(file, slot).stop_grace_period).toBe(`${900 + AGENT_CLOSE_SECONDS}s`);
    }
    expect(service(file, 'dispatcher').stop_grace_period).toBe('30s');
  });

  it.each([
    ['agent', 'agent', 600 + AGENT_CLOSE_SECONDS],
    ['livekit-large', 'livekit', 600],
  ] as const)('%s: the drain watcher stops %s (its stop_grace_period) through the Docker socket, as root, on the host network', (role, drained, seconds) => {
    const file = rendered(role);
    const watch = service(file, 'drain-watch');
    expect(watch).toMatchObject({ image: AGENT_IMAGE, command: ['drain-watch'], network_mode: 'host', user: '0:0', volumes: ['/var/run/docker.sock:/var/run/docker.sock'] });
    expect(watch.environment).toEqual({ DRAIN_SERVICES: drained, DRAIN_SECONDS: String(seconds), LIFECYCLE_HOOK_NAME: DRAIN_HOOK_NAME, COMPOSE_PROJECT: file.name });
    expect(service(file, drained).stop_grace_period).toBe(`${seconds}s`);
    // Only the call-holding service: a terminating LiveKit node keeps its intake for the room_finished webhooks.
    expect(callHoldingServices(role)).toEqual([drained]);
  });

  it('the single node takes its agent image from AGENT_IMAGE; an SSM parameter is refused elsewhere', () => {
    const file = rendered('livekit-mid', { agentImage: { ssmParameter: '/voice-agent/mid/agent-image', region: 'us-east-1' } });
    for (const name of ['intake', 'dispatcher'] as const) expect(service(file, name).image).toBe(AGENT_IMAGE_VARIABLE);
    expect(() => renderCompose(composeArgs('agent', { agentImage: { ssmParameter: '/voice-agent/mid/agent-image', region: 'us-east-1' } }))).toThrow(/single node/);
    expect(() => renderCompose(composeArgs('small', { agentImage: { ssmParameter: 'voice-agent/x', region: 'us-east-1' } }))).toThrow(/SSM parameter name/);
  });

  it('queue roles start after Redis and LiveKit on LiveKit nodes', () => {
    expect(service(rendered('livekit-mid'), 'dispatcher').depends_on).toEqual(['redis', 'livekit']);
    expect(service(rendered('livekit-large'), 'intake').depends_on).toEqual(['livekit']);
    expect(service(rendered('agent'), 'agent').depends_on).toBeUndefined();
  });

  it("the image's health check probes each role's own health: the intake's /healthz, the worker's port, none for the dispatcher", () => {
    const file = rendered('small', { intakePort: 8090 });
    expect(service(file, 'intake').environment?.HEALTHCHECK_URL).toBe('http://127.0.0.1:8090/healthz');
    expect(service(file, 'dispatcher').healthcheck).toEqual({ disable: true });
    for (const slot of ['agent-a', 'agent-b'] as const) {
      expect(service(file, slot).environment?.HEALTHCHECK_URL).toBeUndefined();
      expect(service(file, slot).healthcheck).toBeUndefined();
    }
  });

  it('logs go to CloudWatch when a group is given (EMF lines become metrics), else to rotated local files', () => {
    const cloud = rendered('agent', { cloudWatchLogs: { group: '/voice-agent/large', region: 'us-east-1' } });
    expect(service(cloud, 'agent').logging).toMatchObject({ driver: 'awslogs', options: { 'awslogs-group': '/voice-agent/large', 'awslogs-region': 'us-east-1', mode: 'non-blocking' } });
    expect(service(rendered('agent'), 'agent').logging).toEqual({ driver: 'json-file', options: { 'max-size': '50m', 'max-file': '5' } });
    expect(() => renderCompose(composeArgs('agent', { cloudWatchLogs: { group: 'g', region: 'mars' } }))).toThrow(/region/);
  });

  it('the text has no YAML anchors and keeps YAML-1.1 booleans quoted', () => {
    const text = renderCompose(composeArgs('small'));
    expect(text).not.toMatch(/[&*]a\d/);
    expect(text).toContain('- "yes"');
  });
});
