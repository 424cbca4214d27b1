/**
 * The rendered compose files, read as strictly as docker compose reads them. No compose binary runs
 * here (the nodes use Ubuntu's docker-compose-v2, which this machine's archive lacks), so this test
 * is its reader, with the rules taken from compose-go (compose-spec/compose-go, commit e70e961c):
 * - schema/compose-spec.json: the top-level keys and service keys (additionalProperties false),
 *   service names `^[a-zA-Z0-9._-]+$`, the value types of the keys the renderer writes;
 * - loader/loader.go NormalizeProjectName: a project name of [a-z0-9_-];
 * - types/duration.go: durations are Go's time.ParseDuration;
 * - template/template.go: `$$` escapes, `${VAR}` / `${VAR:?message}` interpolate, a lone `$` is an error;
 * - an env_file that does not exist fails the whole project (required defaults to true), so every
 *   one must be a file boot.sh writes.
 * Plus what the host network adds: no two services of a node may bind the same port.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  AGENT_SLOTS,
  type CloudInitArgs,
  type ComposeFile,
  type ComposeService,
  LIVEKIT_PORTS,
  NODE_FILES,
  NODE_ROLES,
  renderCloudInit,
} from '../../components/livekit/index.js';
import { SIP_HEALTH_PORT, SIP_PROMETHEUS_PORT, SIP_SIGNALLING_PORT, SIP_TLS_PORT } from '../../components/sip/ports.js';
import { arn, nodeArgs } from './livekit-fixtures.js';

/** compose-spec.json `properties` (top level). */
const TOP_LEVEL_KEYS = ['configs', 'include', 'models', 'name', 'networks', 'secrets', 'services', 'version', 'volumes'];
/** compose-spec.json `$defs.service.properties`. */
const SERVICE_KEYS = [
  'annotations', 'attach', 'blkio_config', 'build', 'cap_add', 'cap_drop', 'cgroup', 'cgroup_parent', 'command', 'configs', 'container_name', 'cpu_count',
  'cpu_percent', 'cpu_period', 'cpu_quota', 'cpu_rt_period', 'cpu_rt_runtime', 'cpu_shares', 'cpus', 'cpuset', 'credential_spec', 'depends_on', 'deploy',
  'develop', 'device_cgroup_rules', 'devices', 'dns', 'dns_opt', 'dns_search', 'domainname', 'entrypoint', 'env_file', 'environment', 'expose', 'extends',
  'external_links', 'extra_hosts', 'gpus', 'group_add', 'healthcheck', 'hostname', 'image', 'init', 'ipc', 'isolation', 'label_file', 'labels', 'links',
  'logging', 'mac_address', 'mem_limit', 'mem_reservation', 'mem_swappiness', 'memswap_limit', 'models', 'network_mode', 'networks', 'oom_kill_disable',
  'oom_score_adj', 'pid', 'pids_limit', 'platform', 'ports', 'post_start', 'pre_start', 'pre_stop', 'privileged', 'profiles', 'provider', 'pull_policy',
  'pull_refresh_after', 'read_only', 'restart', 'runtime', 'scale', 'secrets', 'security_opt', 'shm_size', 'stdin_open', 'stop_grace_period', 'stop_signal',
  'storage_opt', 'sysctls', 'tmpfs', 'tty', 'ulimits', 'use_api_socket', 'user', 'userns_mode', 'uts', 'volumes', 'volumes_from', 'working_dir',
];
const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const HOSTNAME_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Interpolation as compose-go's template package reads a value: returns the problem, or null. */
function interpolationProblem(value: string): string | null {
  const rest = value.replaceAll('$$', '');
  for (const match of rest.matchAll(/\$(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*|.?)/g)) {
    const ref = match[1]!;
    if (ref.startsWith('{')) {
      if (!/^\{[A-Za-z_][A-Za-z0-9_]*(:?[-?+][^}]*)?\}$/.test(ref)) return `invalid interpolation ${match[0]}`;
      // The single node's image is the one variable compose fills (from image.env).
      if (!ref.startsWith('{AGENT_IMAGE:?')) return `unexpected variable ${match[0]}: only AGENT_IMAGE is interpolated, and it must fail when unset`;
    } else {
      return `a lone $ (${match[0]}): compose would interpolate it; write $$`;
    }
  }
  return null;
}

/** Every problem compose (or the host network) would have with a node's compose file. */
function composeProblems(file: ComposeFile, bootWrites: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(file)) if (!TOP_LEVEL_KEYS.includes(key)) problems.push(`top-level key ${key}`);
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(file.name)) problems.push(`project name ${file.name}`);
  const names = Object.keys(file.services);
  const ports = new Map<number, string>();
  const bind = (port: number, who: string) => {
    if (ports.has(port)) problems.push(`port ${port}: ${ports.get(port)} and ${who}`);
    ports.set(port, who);
  };
  for (const [name, svc] of Object.entries(file.services) as Array<[string, ComposeService]>) {
    const at = (what: string) => problems.push(`${name}: ${what}`);
    if (!/^[a-zA-Z0-9._-]+$/.test(name)) at('service name');
    for (const key of Object.keys(svc)) if (!SERVICE_KEYS.includes(key)) at(`unknown key ${key}`);
    if (typeof svc.image !== 'string') at('image');
    if (svc.command && !svc.command.every((c) => typeof c === 'string')) at('command');
    if (svc.network_mode !== 'host') at('network_mode');
    if (!['no', 'always', 'on-failure', 'unless-stopped'].includes(svc.restart)) at('restart');
    if (svc.hostname !== undefined && !HOSTNAME_LABEL.test(svc.hostname)) at(`hostname ${svc.hostname}`);
    if (svc.stop_grace_period !== undefined && !GO_DURATION.test(svc.stop_grace_period)) at(`stop_grace_period ${svc.stop_grace_period}`);
    for (const dep of svc.depends_on ?? []) if (!names.includes(dep)) at(`depends_on ${dep}: no such service`);
    for (const env of svc.env_file ?? []) if (!bootWrites.has(env)) at(`env_file ${env}: boot.sh does not write it (compose fails on a missing env_file)`);
    for (const [k, v] of Object.entries(svc.environment ?? {})) {
      if (typeof v !== 'string') at(`environment ${k} is not a string`);
      const problem = interpolationProblem(v);
      if (problem) at(`environment ${k}: ${problem}`);
    }
    for (const text of [svc.image, ...(svc.command ?? []), ...(svc.volumes ?? [])]) {
      const problem = interpolationProblem(text);
      if (problem) at(problem);
    }
    for (const volume of svc.volumes ?? []) {
      const source = volume.split(':')[0]!;
      if (!source.startsWith('/') && !Object.hasOwn(file.volumes ?? {}, source)) at(`volume ${source} is not declared`);
    }
    for (const [limit, value] of Object.entries(svc.ulimits ?? {})) if (!Number.isInteger(value.soft) || !Number.isInteger(value.hard)) at(`ulimit ${limit}`);
    for (const [option, value] of Object.entries(svc.logging.options)) if (typeof value !== 'string') at(`logging option ${option}`);
    // Host network: the ports each service binds (the agent image's roles from their environment).
    const env = svc.environment ?? {};
    if (svc.command?.[0] === 'agent') {
      bind(Number(env.AGENT_HEALTH_PORT ?? 8081), `${name} health`);
      bind(Number(env.AGENT_METRICS_PORT ?? 9464), `${name} metrics`);
    }
    if (svc.command?.[0] === 'intake') bind(Number(env.INTAKE_PORT ?? 8080), `${name} http`);
    if (svc.command?.[0] === 'dispatcher' && env.METRICS_PORT !== undefined) bind(Number(env.METRICS_PORT), `${name} metrics`);
    if (name === 'livekit') for (const p of LIVEKIT_PORTS) if (p.protocol === 'tcp') bind(p.fromPort, `livekit ${p.name}`);
    if (name === 'sip') for (const port of [SIP_SIGNALLING_PORT, SIP_TLS_PORT, SIP_HEALTH_PORT, SIP_PROMETHEUS_PORT]) bind(port, `sip ${port}`);
    if (name === 'redis') bind(6379, 'redis');
    if (name === 'caddy') for (const port of [443, 80, 2019]) bind(port, `caddy ${port}`);
  }
  return problems;
}

const SIP = { tls: true, certificateSecretArn: arn('sip-cert'), declarationParameter: { name: '/voice-agent/test/sip-declaration', region: 'us-east-1' }, credentialsSecretArn: arn('sip-credentials') };

/** The node's compose file and the run files its boot script writes (from the script itself). */
function node(args: CloudInitArgs) {
  const files = new Map((parse(renderCloudInit(args)) as { write_files: Array<{ path: string; content: string }> }).write_files.map((f) => [f.path, f.content]));
  const boot = files.get(NODE_FILES.bootScript)!;
  const writes = new Set([...boot.matchAll(/^write_(?:env|text) "\$RUN\/([a-z.-]+)"/gm)].map((m) => `${NODE_FILES.runDir}/${m[1]}`));
  return { compose: parse(files.get(NODE_FILES.compose)!) as ComposeFile, writes };
}

describe('the compose file of every node reads cleanly, as compose-go would read it', () => {
  const variants: Array<[string, CloudInitArgs]> = [
    ...NODE_ROLES.map((role) => [role, nodeArgs(role)] as [string, CloudInitArgs]),
    ...(['small', 'livekit-mid', 'livekit-large'] as const).map((role) => [`${role} with SIP over TLS`, { ...nodeArgs(role), sip: SIP } as CloudInitArgs] as [string, CloudInitArgs]),
  ];
  it.each(variants)('%s', (_name, args) => {
    const { compose, writes } = node(args);
    expect(composeProblems(compose, writes)).toEqual([]);
  });

  it('the reader is not vacuous: it refuses an unknown key, a clash of ports, a missing env file, a lone $ and a bad duration', () => {
    const { compose, writes } = node(nodeArgs('small'));
    const broken = structuredClone(compose);
    (broken.services['agent-b'] as unknown as Record<string, unknown>).scale_to = 2;
    broken.services['agent-b']!.environment!.AGENT_HEALTH_PORT = String(AGENT_SLOTS['agent-a'].healthPort);
    broken.services.intake!.env_file = [`${NODE_FILES.runDir}/nowhere.env`];
    broken.services.dispatcher!.environment!.NOTE = 'costs $5';
    broken.services.livekit!.stop_grace_period = '10 minutes';
    broken.services['agent-a']!.hostname = 'Agent_A';
    expect(composeProblems(broken, writes)).toEqual([
      'livekit: stop_grace_period 10 minutes',
      'intake: env_file /opt/voice-agent/run/nowhere.env: boot.sh does not write it (compose fails on a missing env_file)',
      'dispatcher: environment NOTE: a lone $ ($5): compose would interpolate it; write $$',
      'agent-a: hostname Agent_A',
      'agent-b: unknown key scale_to',
      'port 8081: agent-a health and agent-b health',
    ]);
  });
});
