/**
 * The LiveKit SIP service on the nodes (issue 9 phase 2): what the user data of each LiveKit role
 * runs for SIP, and the node scripts run for real with bash against stub `aws`, `curl` and
 * `docker` (Secrets Manager, SSM and IMDS stand-ins): boot.sh fills the SIP config and writes the
 * TLS certificate; sip-watch.sh runs `voice-agent sip-sync` when, and only when, the declaration or
 * the credentials changed, or the node's unit started again.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError } from '../../components/config.js';
import {
  type CloudInitArgs,
  type ComposeFile,
  gzipUserData,
  NODE_FILES,
  renderCloudInit,
  SYSTEMD_UNIT,
  USER_DATA_MAX_BYTES,
} from '../../components/livekit/index.js';
import { sipCredentialsSecretString, SIP_NODE_FILES, SIP_WATCH_UNIT, sipDeclarationParameterName } from '../../components/sip/node.js';
import { unknownSipKeys } from '../../components/sip/sip-config-keys.js';
import { SIP_CONFIG_PLACEHOLDERS, SIP_FILES, SIP_IMAGE } from '../../components/sip/sip-yaml.js';
import { AGENT_IMAGE, API_KEY, arn, ELASTICACHE_HOST, IMAGE_PARAMETER, NODE_IP, nodeArgs, SAMPLE_SECRETS, SECRET_BY_ARN } from './livekit-fixtures.js';

type LivekitRole = 'small' | 'livekit-mid' | 'livekit-large';
const LIVEKIT_ROLES: readonly LivekitRole[] = ['small', 'livekit-mid', 'livekit-large'];

const DECLARATION = { name: sipDeclarationParameterName('test'), region: 'us-east-1' } as const;
const CREDENTIALS_ARN = arn('sip-credentials');
const CERTIFICATE_ARN = arn('sip-certificate');
const PUBLIC_IP_FROM_IMDS = '198.51.100.77';

function sipArgs(role: LivekitRole, tls = false): CloudInitArgs {
  return {
    ...nodeArgs(role),
    sip: { tls, declarationParameter: DECLARATION, credentialsSecretArn: CREDENTIALS_ARN, ...(tls ? { certificateSecretArn: CERTIFICATE_ARN } : {}) },
  } as CloudInitArgs;
}

function files(args: CloudInitArgs): Map<string, string> {
  const config = parse(renderCloudInit(args)) as { write_files: Array<{ path: string; content: string }> };
  return new Map(config.write_files.map((f) => [f.path, f.content]));
}
const compose = (args: CloudInitArgs) => parse(files(args).get(NODE_FILES.compose)!) as ComposeFile;
const livekitYaml = (args: CloudInitArgs) => parse(files(args).get(NODE_FILES.livekitConfig)!) as Record<string, unknown>;

describe('user data of a LiveKit node with SIP', () => {
  it.each(LIVEKIT_ROLES)('%s: the SIP service runs beside LiveKit, pinned, host networking, SIGTERM and the drain time', (role) => {
    const file = compose(sipArgs(role));
    const sip = file.services.sip!;
    expect(sip).toMatchObject({ image: SIP_IMAGE, network_mode: 'host', stop_signal: 'SIGTERM', stop_grace_period: '600s' });
    expect(sip.volumes).toEqual([`${SIP_FILES.config}:${SIP_FILES.containerConfig}:ro`]);
    expect(sip.depends_on).toEqual(role === 'livekit-large' ? ['livekit'] : ['redis', 'livekit']);
    // Without SIP: no service, no template, no watcher.
    const plain = files(nodeArgs(role));
    expect(Object.hasOwn(compose(nodeArgs(role)).services, 'sip')).toBe(false);
    expect(plain.has(SIP_FILES.template) || plain.has(SIP_NODE_FILES.watchScript)).toBe(false);
  });

  it('TLS mounts the certificate directory boot.sh writes and the config points at it', () => {
    const args = sipArgs('livekit-mid', true);
    expect(compose(args).services.sip!.volumes).toContain(`${SIP_FILES.tlsDir}:${SIP_FILES.containerTlsDir}:ro`);
    expect(parse(files(args).get(SIP_FILES.template)!)).toMatchObject({ tls: { port: 5061, certs: [{ cert_file: '/sip/tls/cert.pem', key_file: '/sip/tls/key.pem' }] } });
    expect(() => renderCloudInit({ ...args, sip: { ...args.sip!, certificateSecretArn: undefined } } as CloudInitArgs)).toThrow(/certificateSecretArn/);
  });

  it('large: the drain watcher stops LiveKit and the SIP service (one SIGTERM each, the same drain time)', () => {
    const watch = compose(sipArgs('livekit-large')).services['drain-watch']!;
    expect(watch.environment).toMatchObject({ DRAIN_SERVICES: 'livekit,sip', DRAIN_SECONDS: '600' });
    expect(compose(nodeArgs('livekit-large')).services['drain-watch']!.environment!.DRAIN_SERVICES).toBe('livekit');
  });

  it('the image roll of the single node recreates the agent-image services only: never the SIP service', () => {
    for (const role of ['small', 'livekit-mid'] as const) {
      const watch = files(sipArgs(role)).get(NODE_FILES.imageWatchScript)!;
      const up = watch.split('\n').find((l) => l.includes(' up --detach --no-deps '))!;
      expect(up, role).not.toMatch(/\bsip\b|\blivekit\b/);
    }
  });

  it('single node: livekit.yaml now has Redis (the node’s own, loopback, no TLS), so the SIP API works; LiveKit starts after Redis', () => {
    for (const role of ['small', 'livekit-mid'] as const) {
      expect(livekitYaml(sipArgs(role)).redis, role).toEqual({ address: '127.0.0.1:6379' });
      expect(livekitYaml(sipArgs(role)).node_selector, role).toBeUndefined();
      expect(livekitYaml(nodeArgs(role)).redis, role).toBeUndefined();
      expect(compose(sipArgs(role)).services.livekit!.depends_on, role).toEqual(['redis']);
    }
    expect(livekitYaml(sipArgs('livekit-large')).redis).toEqual({ address: `${ELASTICACHE_HOST}:6379`, tls: { enabled: true, server_name: ELASTICACHE_HOST } });
  });

  it.each(LIVEKIT_ROLES)('%s: the SIP config template holds only livekit/sip keys, the node’s public address, its Redis, placeholders for secrets', (role) => {
    const template = parse(files(sipArgs(role)).get(SIP_FILES.template)!) as Record<string, unknown> & { redis: Record<string, unknown> };
    expect(unknownSipKeys(template)).toEqual([]);
    expect(template).toMatchObject({ api_key: API_KEY, api_secret: SIP_CONFIG_PLACEHOLDERS.apiSecret, ws_url: 'ws://127.0.0.1:7880', sip_port: 5060, rtp_port: '10000-20000' });
    if (role === 'livekit-large') {
      expect(template.nat_1_to_1_ip).toBe(SIP_CONFIG_PLACEHOLDERS.publicIp);
      expect(template.redis).toMatchObject({ address: `${ELASTICACHE_HOST}:6379`, password: SIP_CONFIG_PLACEHOLDERS.redisPassword, tls: { enabled: true } });
    } else {
      expect(template.nat_1_to_1_ip).toBe(NODE_IP);
      expect(template.redis).toEqual({ address: '127.0.0.1:6379', ...(role === 'livekit-mid' ? { password: SIP_CONFIG_PLACEHOLDERS.redisPassword } : {}) });
    }
  });

  it.each(LIVEKIT_ROLES)('%s: sip-watch runs from a timer while the node’s unit runs; the user data stays far under 16 KiB compressed', (role) => {
    const args = sipArgs(role, true);
    const config = parse(renderCloudInit(args)) as { runcmd: string[][] };
    expect(config.runcmd).toContainEqual(['systemctl', 'enable', '--now', `${SIP_WATCH_UNIT}.timer`]);
    const service = files(args).get(`/etc/systemd/system/${SIP_WATCH_UNIT}.service`)!;
    expect(service).toContain(`Requisite=${SYSTEMD_UNIT}`);
    expect(service).toContain(`ExecStart=${SIP_NODE_FILES.watchScript}`);
    expect(files(args).get(`/etc/systemd/system/${SYSTEMD_UNIT}`)).toMatch(/Description=.*\bsip\b/);
    // 6 KiB of EC2's 16 KiB kept free for what nodes gain later (the small box with SIP over TLS and the agent env secret is ~9 KB).
    expect(gzipUserData(renderCloudInit(args)).length).toBeLessThan(USER_DATA_MAX_BYTES - 6 * 1024);
  });

  it('no secret value in the user data; the credentials and certificate are named by ARN only', () => {
    const text = renderCloudInit(sipArgs('livekit-mid', true));
    for (const secret of Object.values(SAMPLE_SECRETS)) expect(text).not.toContain(secret);
    expect(text).toContain(CREDENTIALS_ARN);
    expect(text).toContain(CERTIFICATE_ARN);
  });

  it('the agent role runs no SIP service', () => {
    expect(() => renderCloudInit({ ...nodeArgs('agent'), sip: { tls: false } } as CloudInitArgs)).toThrow(/sip/);
  });
});

describe('the SIP credentials secret', () => {
  it('holds NAME=value lines for the credentials set, a comment when none is', () => {
    expect(sipCredentialsSecretString({})).toBe('# SIP credentials of voice-agent-infra (sip-watch hands them to voice-agent sip-sync)\n');
    const text = sipCredentialsSecretString({ sipOutboundUsername: 'out-user', sipOutboundPassword: 'Out&pa$s!1' });
    expect(text.split('\n').slice(1)).toEqual(['SIP_OUTBOUND_USERNAME=out-user', 'SIP_OUTBOUND_PASSWORD=Out&pa$s!1', '']);
  });

  it.each([['a space', 'two words'], ['a quote', "it's"], ['a newline', 'a\nSIP_INBOUND_USERNAME=x'], ['nothing', '']])('refuses a value with %s, naming the key, never the value', (_what, value) => {
    let error: unknown;
    try {
      sipCredentialsSecretString({ sipAuthPassword: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe('sipAuthPassword');
    if (value) expect((error as Error).message).not.toContain(value);
  });
});

// --- The node scripts, run with stubs -----------------------------------------------------------

const STUBS = {
  // Secrets Manager: a file per ARN (SecretString) and an optional <file>.version (VersionId, default v1).
  // SSM: a file per parameter name. ECR: a login password.
  aws: `#!/bin/bash
set -u
query='' version_id=''
if [[ "$1 $2" == "secretsmanager get-secret-value" ]]; then
  shift 2
  while [[ $# -gt 0 ]]; do
    case $1 in --secret-id) id=$2; shift 2 ;; --region) region=$2; shift 2 ;; --query) query=$2; shift 2 ;; --version-id) version_id=$2; shift 2 ;; *) shift ;; esac
  done
  echo "secretsmanager region=$region id=$id query=$query version=$version_id" >>"$STUB_LOG"
  file="$STUB_SECRETS/\${id//[:\\/]/_}"
  [[ -f $file ]] || { echo "ResourceNotFoundException: $id" >&2; exit 254; }
  current=$(cat "$file.version" 2>/dev/null || echo v1)
  if [[ -n $version_id && $version_id != "$current" ]]; then echo "ResourceNotFoundException: version $version_id" >&2; exit 254; fi
  if [[ $query == VersionId ]]; then echo "$current"; else printf '%s\\n' "$(cat "$file")"; fi
elif [[ "$1 $2" == "ecr get-login-password" ]]; then
  echo "ecr $*" >>"$STUB_LOG"
  echo ecr-login-password
elif [[ "$1 $2" == "ssm get-parameter" ]]; then
  shift 2
  while [[ $# -gt 0 ]]; do
    case $1 in --name) name=$2; shift 2 ;; --region) region=$2; shift 2 ;; *) shift ;; esac
  done
  echo "ssm region=$region name=$name" >>"$STUB_LOG"
  file="$STUB_PARAMETERS/\${name//\\//_}"
  [[ -f $file ]] || { echo "ParameterNotFound: $name" >&2; exit 254; }
  printf '%s\\n' "$(cat "$file")"
else
  exit 2
fi
`,
  curl: `#!/bin/bash
for arg in "$@"; do
  case $arg in
    */latest/api/token) echo imds-session-token; exit 0 ;;
    */meta-data/local-ipv4) echo 10.0.1.23; exit 0 ;;
    */meta-data/public-ipv4) echo ${PUBLIC_IP_FROM_IMDS}; exit 0 ;;
  esac
done
exit 22
`,
  // docker run: records its arguments, the env file as it is during the run, and the mounted declaration.
  docker: `#!/bin/bash
if [[ $1 == run ]]; then
  echo "docker $*" >>"$STUB_LOG"
  args=("$@")
  for ((i = 0; i < \${#args[@]}; i++)); do
    [[ \${args[i]} == --env-file ]] && cp "\${args[i+1]}" "$STUB_LOG.env"
    [[ \${args[i]} == --volume ]] && cp "\${args[i+1]%%:*}" "$STUB_LOG.declaration"
  done
  exit "\${STUB_DOCKER_EXIT:-0}"
fi
echo "docker $* stdin=$(cat)" >>"$STUB_LOG"
`,
  sleep: '#!/bin/bash\nexit 0\n',
  blkid: '#!/bin/bash\nexit 2\n',
  'mkfs.ext4': '#!/bin/bash\n',
  mount: '#!/bin/bash\n',
  mountpoint: '#!/bin/bash\nexit 1\n',
};

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sip-node-'));
  const bin = join(work, 'bin');
  mkdirSync(bin);
  for (const [name, body] of Object.entries(STUBS)) {
    writeFileSync(join(bin, name), body);
    chmodSync(join(bin, name), 0o755);
  }
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const CERTIFICATE = { certificate: '-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----', privateKey: '-----BEGIN PRIVATE KEY-----\nMIIEkeyCanary\n-----END PRIVATE KEY-----' };
const DECLARATION_JSON = JSON.stringify({ version: 1, owner: 'test', inboundTrunk: { name: 'voice-agent-test-inbound', numbers: ['+15550100001'] } });

interface Node {
  root: string;
  env: Record<string, string>;
  log: string;
  secrets: string;
  parameters: string;
}

let nodes = 0;
function node(secrets: Record<string, string> = {}): Node {
  const root = join(work, `node-${++nodes}`);
  const secretDir = join(root, 'secrets-manager');
  const parameterDir = join(root, 'ssm');
  const deviceDir = join(root, 'dev');
  for (const dir of [secretDir, parameterDir, deviceDir]) mkdirSync(dir, { recursive: true });
  const all = { ...SECRET_BY_ARN, [CREDENTIALS_ARN]: sipCredentialsSecretString({ sipOutboundUsername: 'out-user', sipOutboundPassword: 'OutPassCanary9' }), [CERTIFICATE_ARN]: JSON.stringify(CERTIFICATE), ...secrets };
  for (const [id, value] of Object.entries(all)) writeFileSync(join(secretDir, id.replace(/[:/]/g, '_')), value);
  writeFileSync(join(parameterDir, IMAGE_PARAMETER.ssmParameter.replaceAll('/', '_')), AGENT_IMAGE);
  writeFileSync(join(parameterDir, DECLARATION.name.replaceAll('/', '_')), DECLARATION_JSON);
  writeFileSync(join(deviceDir, 'nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0'), '');
  const log = join(root, 'stub.log');
  writeFileSync(log, '');
  const env = {
    PATH: `${join(work, 'bin')}:${process.env.PATH}`,
    VOICE_AGENT_ROOT: root,
    VOICE_AGENT_DEVICES: deviceDir,
    VOICE_AGENT_DATA: join(root, 'data'),
    STUB_SECRETS: secretDir,
    STUB_PARAMETERS: parameterDir,
    STUB_LOG: log,
  };
  return { root, env, log, secrets: secretDir, parameters: parameterDir };
}

function run(n: Node, args: CloudInitArgs, path: string, extraEnv: Record<string, string> = {}) {
  const script = join(n.root, path.split('/').at(-1)!);
  writeFileSync(script, files(args).get(path)!);
  // The template cloud-init writes next to the scripts.
  if (files(args).has(SIP_FILES.template)) writeFileSync(join(n.root, 'sip.yaml'), files(args).get(SIP_FILES.template)!);
  writeFileSync(n.log, '');
  const result = spawnSync('bash', [script], { encoding: 'utf8', env: { ...n.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: result.status, stderr: result.stderr, log: readFileSync(n.log, 'utf8') };
}

const boot = (n: Node, args: CloudInitArgs) => run(n, args, NODE_FILES.bootScript);
const watch = (n: Node, args: CloudInitArgs, extraEnv: Record<string, string> = {}) => run(n, args, SIP_NODE_FILES.watchScript, extraEnv);
const dockerRuns = (log: string) => log.split('\n').filter((l) => l.startsWith('docker run'));

describe('boot.sh with SIP', () => {
  it.each(LIVEKIT_ROLES)('%s: fills the SIP config (secrets, and the IMDS address on large) into the 0600 run copy the container mounts', (role) => {
    const n = node();
    const result = boot(n, sipArgs(role));
    expect(result.status, result.stderr).toBe(0);
    const path = join(n.root, 'run', 'sip.yaml');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const filled = parse(readFileSync(path, 'utf8')) as { api_secret: string; nat_1_to_1_ip: string; redis: { password?: string } };
    expect(filled.api_secret).toBe(SAMPLE_SECRETS.livekitApiSecret);
    expect(filled.nat_1_to_1_ip).toBe(role === 'livekit-large' ? PUBLIC_IP_FROM_IMDS : NODE_IP);
    expect(filled.redis.password).toBe(role === 'small' ? undefined : SAMPLE_SECRETS.redisAuthToken);
    expect(unknownSipKeys(filled)).toEqual([]);
  });

  it('mid: LiveKit gets the node Redis password (REDIS_PASSWORD in livekit.env) now that it uses Redis', () => {
    const n = node();
    expect(boot(n, sipArgs('livekit-mid')).status).toBe(0);
    expect(readFileSync(join(n.root, 'run', 'livekit.env'), 'utf8')).toContain(`REDIS_PASSWORD='${SAMPLE_SECRETS.redisAuthToken}'`);
  });

  it('clears the sync marker: after every start of the unit sip-watch syncs LiveKit again', () => {
    const n = node();
    mkdirSync(join(n.root, 'run'), { recursive: true });
    writeFileSync(join(n.root, 'run', 'sip-sync.applied'), 'abc\n');
    expect(boot(n, sipArgs('small')).status).toBe(0);
    expect(existsSync(join(n.root, 'run', 'sip-sync.applied'))).toBe(false);
  });

  it('TLS: writes the certificate and key from the JSON secret, 0600 in a 0700 directory, never printing them', () => {
    const n = node();
    const result = boot(n, sipArgs('livekit-mid', true));
    expect(result.status, result.stderr).toBe(0);
    const dir = join(n.root, 'run', 'sip-tls');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(dir, 'cert.pem'), 'utf8')).toBe(`${CERTIFICATE.certificate}\n`);
    expect(readFileSync(join(dir, 'key.pem'), 'utf8')).toBe(`${CERTIFICATE.privateKey}\n`);
    expect(statSync(join(dir, 'key.pem')).mode & 0o777).toBe(0o600);
    expect(result.stderr + result.log).not.toContain('MIIEkeyCanary');
  });

  it.each([
    ['not JSON', 'just a PEM'],
    ['no key', JSON.stringify({ certificate: CERTIFICATE.certificate })],
    ['a key that is no PEM', JSON.stringify({ certificate: CERTIFICATE.certificate, privateKey: 'MIIEkeyCanary' })],
  ])('TLS: refuses a certificate secret with %s, naming the ARN, writing no key', (_what, value) => {
    const n = node({ [CERTIFICATE_ARN]: value });
    const result = boot(n, sipArgs('small', true));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`SIP TLS: secret ${CERTIFICATE_ARN} must be JSON`);
    expect(result.stderr).not.toContain('MIIEkeyCanary');
    expect(existsSync(join(n.root, 'run', 'sip-tls', 'key.pem'))).toBe(false);
  });
});

describe('sip-watch.sh keeps LiveKit in step with the stack', () => {
  /** A node that has booted: env files and image.env written. */
  function booted(role: LivekitRole): { n: Node; args: CloudInitArgs } {
    const n = node();
    const args = sipArgs(role);
    const result = boot(n, args);
    expect(result.status, result.stderr).toBe(0);
    return { n, args };
  }

  it.each(LIVEKIT_ROLES)('%s: first run after boot runs sip-sync with the agent image, the declaration and the credentials; then nothing until a change', (role) => {
    const { n, args } = booted(role);
    const first = watch(n, args);
    expect(first.status, first.stderr).toBe(0);
    const runs = dockerRuns(first.log);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toContain(`--network host`);
    expect(runs[0]).toMatch(new RegExp(`${AGENT_IMAGE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} sip-sync$`));
    expect(runs[0]).toContain(`:${SIP_NODE_FILES.containerDeclaration}:ro`);
    expect(readFileSync(`${n.log}.declaration`, 'utf8').trim()).toBe(DECLARATION_JSON);
    const env = readFileSync(`${n.log}.env`, 'utf8').trim().split('\n');
    expect(env).toEqual([
      expect.stringMatching(/^REDIS_URL=rediss?:\/\//),
      `LIVEKIT_API_SECRET=${SAMPLE_SECRETS.livekitApiSecret}`,
      'LIVEKIT_URL=http://127.0.0.1:7880',
      `LIVEKIT_API_KEY=${API_KEY}`,
      `SIP_DECLARATION_FILE=${SIP_NODE_FILES.containerDeclaration}`,
      'SIP_OUTBOUND_USERNAME=out-user',
      'SIP_OUTBOUND_PASSWORD=OutPassCanary9',
    ]);
    // The env file with the secrets does not outlive the run; the declaration (no secret) is readable by the image's user.
    expect(existsSync(join(n.root, 'run', 'sip-sync.env'))).toBe(false);
    expect(statSync(join(n.root, 'sip-declaration.json')).mode & 0o777).toBe(0o644);

    const second = watch(n, args);
    expect(second.status, second.stderr).toBe(0);
    expect(dockerRuns(second.log)).toEqual([]);
  });

  it('a changed declaration (numbers, ranges, trunks) syncs again', () => {
    const { n, args } = booted('livekit-mid');
    expect(watch(n, args).status).toBe(0);
    writeFileSync(join(n.parameters, DECLARATION.name.replaceAll('/', '_')), DECLARATION_JSON.replace('+15550100001', '+15550100002'));
    const after = watch(n, args);
    expect(after.status, after.stderr).toBe(0);
    expect(dockerRuns(after.log)).toHaveLength(1);
    expect(readFileSync(`${n.log}.declaration`, 'utf8')).toContain('+15550100002');
  });

  it('a new version of the credentials secret (rotated password) syncs again, with the new value', () => {
    const { n, args } = booted('small');
    expect(watch(n, args).status).toBe(0);
    const file = join(n.secrets, CREDENTIALS_ARN.replace(/[:/]/g, '_'));
    writeFileSync(file, sipCredentialsSecretString({ sipOutboundUsername: 'out-user', sipOutboundPassword: 'RotatedCanary2' }));
    writeFileSync(`${file}.version`, 'v2');
    const after = watch(n, args);
    expect(dockerRuns(after.log)).toHaveLength(1);
    expect(readFileSync(`${n.log}.env`, 'utf8')).toContain('SIP_OUTBOUND_PASSWORD=RotatedCanary2');
  });

  it('after a restart of the node’s unit (boot.sh again) it syncs again, to repair drift', () => {
    const { n, args } = booted('livekit-large');
    expect(watch(n, args).status).toBe(0);
    expect(boot(n, args).status).toBe(0);
    expect(dockerRuns(watch(n, args).log)).toHaveLength(1);
  });

  it('a failed sip-sync fails the run and is retried next time; its env file is removed all the same', () => {
    const { n, args } = booted('livekit-mid');
    const failed = watch(n, args, { STUB_DOCKER_EXIT: '1' });
    expect(failed.status).not.toBe(0);
    expect(failed.stderr).toContain('sip-sync exited 1');
    expect(existsSync(join(n.root, 'run', 'sip-sync.env'))).toBe(false);
    expect(existsSync(join(n.root, 'run', 'sip-sync.applied'))).toBe(false);
    expect(dockerRuns(watch(n, args).log)).toHaveLength(1);
  });

  it.each([
    ['another variable', '# c\nREDIS_URL=redis://evil\n'],
    ['a value with a space', '# c\nSIP_INBOUND_PASSWORD=two words\n'],
  ])('refuses a credentials secret holding %s, running nothing', (_what, text) => {
    const { n, args } = booted('small');
    writeFileSync(join(n.secrets, CREDENTIALS_ARN.replace(/[:/]/g, '_')), text);
    const result = watch(n, args);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('the SIP credentials secret holds a line other than');
    expect(dockerRuns(result.log)).toEqual([]);
    expect(result.stderr).not.toContain('evil');
  });

  it('fails, running nothing, when the declaration parameter is missing or not JSON', () => {
    const { n, args } = booted('small');
    writeFileSync(join(n.parameters, DECLARATION.name.replaceAll('/', '_')), 'not json');
    const bad = watch(n, args);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('holds no JSON object');
    rmSync(join(n.parameters, DECLARATION.name.replaceAll('/', '_')));
    const missing = watch(n, args);
    expect(missing.status).not.toBe(0);
    expect(dockerRuns(missing.log)).toEqual([]);
  });
});
