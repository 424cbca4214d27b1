/**
 * Secrets reach the node at boot, never through user data. These tests run the rendered boot.sh
 * with bash against stub `aws`, `curl` and `docker` (a fake Secrets Manager holding sample
 * secrets, IMDS, a docker that records its login), then check that every placeholder the compose
 * file leaves is filled, and that no rendered file holds a sample secret.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  bootEnvFiles,
  type CloudInitArgs,
  type ComposeFile,
  isSecretArn,
  isSingleNode,
  NODE_DIR,
  runsAgentWorker,
  NODE_FILES,
  NODE_ROLES,
  regionOfSecretArn,
  renderCloudInit,
  secretArn,
  type SecretArn,
} from '../../components/livekit/index.js';
import { AGENT_IMAGE, API_KEY, ARNS, DATA_VOLUME_ID, ELASTICACHE_HOST, IMAGE_PARAMETER, nodeArgs, SAMPLE_PROVIDER_KEYS, SAMPLE_SECRETS, SECRET_BY_ARN } from './livekit-fixtures.js';

interface WriteFile {
  path: string;
  content: string;
}

function writtenFiles(args: CloudInitArgs): Map<string, string> {
  const config = parse(renderCloudInit(args)) as { write_files: WriteFile[] };
  return new Map(config.write_files.map((f) => [f.path, f.content]));
}

const STUBS = {
  aws: `#!/bin/bash
set -u
if [[ "$1 $2" == "secretsmanager get-secret-value" ]]; then
  shift 2
  while [[ $# -gt 0 ]]; do
    case $1 in --secret-id) id=$2; shift 2 ;; --region) region=$2; shift 2 ;; *) shift ;; esac
  done
  echo "secretsmanager region=$region id=$id" >>"$STUB_LOG"
  file="$STUB_SECRETS/\${id//[:\\/]/_}"
  [[ -f $file ]] || { echo "ResourceNotFoundException: $id" >&2; exit 254; }
  printf '%s\\n' "$(cat "$file")"
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
  printf '%s\n' "$(cat "$file")"
else
  exit 2
fi
`,
  // IMDS, and the health ports on the box: a port answers 200 only when it is in STUB_HEALTHY and
  // its service was started by a \`docker compose up\` this run (so no health before the start).
  curl: `#!/bin/bash
for arg in "$@"; do
  case $arg in
    */latest/api/token) echo imds-session-token; exit 0 ;;
    */meta-data/local-ipv4) echo 10.0.1.23; exit 0 ;;
    http://127.0.0.1:*)
      port=\${arg#http://127.0.0.1:}; port=\${port%%/*}
      case $port in 8080) service=intake ;; 8081) service=agent-a ;; 8082) service=agent-b ;; *) service=none ;; esac
      if [[ " \${STUB_HEALTHY:-} " == *" $port "* ]] && grep -q "up --detach --no-deps $service " "$STUB_LOG"; then
        echo "curl $arg 200" >>"$STUB_LOG"; exit 0
      fi
      echo "curl $arg refused" >>"$STUB_LOG"; exit 7 ;;
  esac
done
exit 22
`,
  docker: `#!/bin/bash
echo "docker $* stdin=$(cat)\${AGENT_IMAGE:+ image=$AGENT_IMAGE}" >>"$STUB_LOG"
`,
  sleep: '#!/bin/bash\nexit 0\n',
  // The data volume: a blank one (blkid finds no file system, exit 2) unless STUB_FSTYPE names one.
  blkid: '#!/bin/bash\necho "blkid $*" >>"$STUB_LOG"\n[[ -n ${STUB_FSTYPE:-} ]] || exit 2\necho "$STUB_FSTYPE"\n',
  'mkfs.ext4': '#!/bin/bash\necho "mkfs.ext4 $*" >>"$STUB_LOG"\n',
  mount: '#!/bin/bash\necho "mount $*" >>"$STUB_LOG"\n',
  mountpoint: '#!/bin/bash\nexit 1\n',
};

/** The env files boot.sh may write (run/agent-slot is not one: it names a service). */
const ENV_FILE_NAMES = ['livekit.env', 'agent.env', 'redis.env', 'image.env', 'agent-providers.env'];

interface BootRun {
  status: number | null;
  stderr: string;
  root: string;
  log: string;
  /** NAME -> value of each env file the boot script wrote, by node path. */
  env: Map<string, Map<string, string>>;
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'livekit-boot-'));
  const bin = join(work, 'bin');
  mkdirSync(bin);
  for (const [name, body] of Object.entries(STUBS)) {
    writeFileSync(join(bin, name), body);
    chmodSync(join(bin, name), 0o755);
  }
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface NodeWorld {
  /** What the fake SSM holds in the image parameter (null: no such parameter). */
  image?: string | null;
  /** The data volume is attached (its device exists). */
  volumeAttached?: boolean;
  /** File system blkid finds on it; none: blank. */
  fstype?: string;
}

let runs = 0;
function prepareNode(world: NodeWorld, secrets: Record<string, string>): { root: string; log: string; env: Record<string, string> } {
  const root = join(work, `node-${++runs}`);
  const secretDir = join(root, 'secrets-manager');
  const parameterDir = join(root, 'ssm');
  const deviceDir = join(root, 'dev');
  mkdirSync(secretDir, { recursive: true });
  mkdirSync(parameterDir, { recursive: true });
  mkdirSync(deviceDir, { recursive: true });
  for (const [arn, value] of Object.entries(secrets)) writeFileSync(join(secretDir, arn.replace(/[:/]/g, '_')), value);
  const image = world.image === undefined ? AGENT_IMAGE : world.image;
  if (image !== null) writeFileSync(join(parameterDir, IMAGE_PARAMETER.ssmParameter.replaceAll('/', '_')), image);
  if (world.volumeAttached ?? true) writeFileSync(join(deviceDir, `nvme-Amazon_Elastic_Block_Store_${DATA_VOLUME_ID.replace('-', '')}`), '');
  const log = join(root, 'stub.log');
  writeFileSync(log, '');
  const env: Record<string, string> = {
    PATH: `${join(work, 'bin')}:${process.env.PATH}`,
    VOICE_AGENT_ROOT: root,
    VOICE_AGENT_DEVICES: deviceDir,
    VOICE_AGENT_DATA: join(root, 'data'),
    STUB_SECRETS: secretDir,
    STUB_PARAMETERS: parameterDir,
    STUB_LOG: log,
    ...(world.fstype ? { STUB_FSTYPE: world.fstype } : {}),
  };
  return { root, log, env };
}

function runBoot(args: CloudInitArgs, secrets: Record<string, string> = SECRET_BY_ARN, world: NodeWorld = {}): BootRun {
  const { root, log, env: runEnv } = prepareNode(world, secrets);
  const script = writtenFiles(args).get(NODE_FILES.bootScript)!;
  writeFileSync(join(root, 'boot.sh'), script);
  const result = spawnSync('bash', [join(root, 'boot.sh')], { encoding: 'utf8', env: runEnv });
  const env = new Map<string, Map<string, string>>();
  for (const name of ENV_FILE_NAMES) {
    const path = join(root, 'run', name);
    if (existsSync(path)) env.set(`${NODE_FILES.runDir}/${name}`, parseEnvFile(readFileSync(path, 'utf8')));
  }
  return { status: result.status, stderr: result.stderr, root, log: readFileSync(log, 'utf8'), env };
}

/** Reads NAME='value' lines the way compose reads single-quoted values: literally. */
function parseEnvFile(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of text.split('\n').filter(Boolean)) {
    const match = /^([A-Z_][A-Z0-9_]*)='([^']*)'$/.exec(line);
    if (!match) throw new Error(`env file line is not NAME='value': ${line.replace(/=.*/, '=...')}`);
    vars.set(match[1]!, match[2]!);
  }
  return vars;
}

function envOf(run: BootRun, path: string): Map<string, string> {
  const vars = run.env.get(path);
  if (!vars) throw new Error(`boot.sh wrote no ${path} (stderr: ${run.stderr})`);
  return vars;
}

describe('boot.sh fills the placeholders from Secrets Manager', () => {
  it.each(NODE_ROLES)('%s: writes exactly the env files and variables of the contract, mode 0600 in a 0700 directory', (role) => {
    const args = nodeArgs(role);
    const run = runBoot(args);
    expect(run.status, run.stderr).toBe(0);
    const expected = bootEnvFiles(role, { alertWebhook: true });
    const want = new Map<string, readonly string[]>([[NODE_FILES.agentEnv, expected.agent]]);
    if (expected.livekit) want.set(NODE_FILES.livekitEnv, expected.livekit);
    if (expected.redis) want.set(NODE_FILES.redisEnv, expected.redis);
    if (isSingleNode(role)) want.set(NODE_FILES.imageEnv, ['AGENT_IMAGE']);
    // The roles that run the agent worker: the operator's variables, in the secret's order.
    if (runsAgentWorker(role)) want.set(NODE_FILES.agentProvidersEnv, Object.keys(JSON.parse(SAMPLE_SECRETS.agentEnv) as object));
    expect([...run.env.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [path, names] of want) expect([...envOf(run, path).keys()], path).toEqual([...names]);
    expect(statSync(join(run.root, 'run')).mode & 0o777).toBe(0o700);
    for (const name of ENV_FILE_NAMES) {
      const path = join(run.root, 'run', name);
      if (existsSync(path)) expect(statSync(path).mode & 0o777, name).toBe(0o600);
    }
  });

  it.each(NODE_ROLES)('%s: every env_file and every $$VAR the compose file uses is written by boot.sh', (role) => {
    const args = nodeArgs(role);
    const run = runBoot(args);
    const compose = parse(writtenFiles(args).get(NODE_FILES.compose)!) as ComposeFile;
    for (const [name, svc] of Object.entries(compose.services)) {
      const provided = new Set<string>();
      for (const path of svc.env_file ?? []) for (const key of envOf(run, path).keys()) provided.add(key);
      const referenced = [...(svc.command ?? []).join(' ').matchAll(/\$\$\{?([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]!);
      for (const variable of referenced) expect(provided.has(variable), `${role}/${name} uses $${variable}`).toBe(true);
    }
  });

  it('LIVEKIT_KEYS is the YAML map LiveKit expects ("key: secret"), the secret double-quoted', () => {
    const run = runBoot(nodeArgs('small'));
    const keys = envOf(run, NODE_FILES.livekitEnv).get('LIVEKIT_KEYS')!;
    expect(keys).toBe(`${API_KEY}: "${SAMPLE_SECRETS.livekitApiSecret}"`);
    expect(parse(keys)).toEqual({ [API_KEY]: SAMPLE_SECRETS.livekitApiSecret });
  });

  it('REDIS_URL per role: loopback without auth on small, percent-encoded token on mid, rediss:// on ElastiCache', () => {
    const small = envOf(runBoot(nodeArgs('small')), NODE_FILES.agentEnv).get('REDIS_URL');
    expect(small).toBe('redis://127.0.0.1:6379');

    for (const [role, protocol, host] of [
      ['livekit-mid', 'redis:', '127.0.0.1'],
      ['livekit-large', 'rediss:', ELASTICACHE_HOST],
      ['agent', 'rediss:', ELASTICACHE_HOST],
    ] as const) {
      const url = new URL(envOf(runBoot(nodeArgs(role)), NODE_FILES.agentEnv).get('REDIS_URL')!);
      expect([url.protocol, url.hostname, url.port], role).toEqual([protocol, host, '6379']);
      expect(decodeURIComponent(url.password), role).toBe(SAMPLE_SECRETS.redisAuthToken);
    }
  });

  it('mid: the node Redis gets its password and the private address from IMDS; large LiveKit gets REDIS_PASSWORD', () => {
    const mid = envOf(runBoot(nodeArgs('livekit-mid')), NODE_FILES.redisEnv);
    expect(Object.fromEntries(mid)).toEqual({ REDIS_PASSWORD: SAMPLE_SECRETS.redisAuthToken, NODE_PRIVATE_IP: '10.0.1.23' });
    const large = envOf(runBoot(nodeArgs('livekit-large')), NODE_FILES.livekitEnv);
    expect(large.get('REDIS_PASSWORD')).toBe(SAMPLE_SECRETS.redisAuthToken);
  });

  it('reads each secret from the region in its ARN, and logs docker in to the agent image’s ECR registry', () => {
    const run = runBoot(nodeArgs('agent'));
    expect(run.log).toContain(`secretsmanager region=eu-west-1 id=${ARNS.redisAuthToken}`);
    expect(run.log).toContain(`secretsmanager region=us-east-1 id=${ARNS.livekitApiSecret}`);
    expect(run.log).toContain('ecr get-login-password --region us-east-1');
    expect(run.log).toContain('docker login --username AWS --password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com stdin=ecr-login-password');
  });

  it('no docker login for an image outside ECR', () => {
    const run = runBoot({ ...nodeArgs('agent'), agentImage: 'ghcr.io/acme/voice-agent:1.4.0' } as CloudInitArgs);
    expect(run.status, run.stderr).toBe(0);
    expect(run.log).not.toContain('docker login');
  });

  it('fails, naming the variable and the ARN, when a secret cannot be read; writes nothing', () => {
    const { [ARNS.intakeToken]: _missing, ...rest } = SECRET_BY_ARN;
    const run = runBoot(nodeArgs('livekit-mid'), rest);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`INTAKE_TOKEN: cannot read secret ${ARNS.intakeToken}`);
    expect(run.env.size).toBe(0);
  });

  it.each([
    ['a quote', "it's"],
    ['a space', 'two words'],
    ['a backslash', 'back\\slash'],
  ])('refuses a secret containing %s (it would break the env file quoting), without printing it', (_name, value) => {
    const run = runBoot(nodeArgs('small'), { ...SECRET_BY_ARN, [ARNS.intakeToken]: `Canary${value}` });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('INTAKE_TOKEN: secret');
    expect(run.stderr).not.toContain('Canary');
  });
});

describe('no secret in rendered files', () => {
  it.each(NODE_ROLES)('%s: no sample secret in the user data or any file it writes; the boot script holds ARNs', (role) => {
    const args = nodeArgs(role);
    const text = renderCloudInit(args);
    for (const secret of Object.values(SAMPLE_SECRETS)) expect(text).not.toContain(secret);
    expect(writtenFiles(args).get(NODE_FILES.bootScript)).toContain(ARNS.livekitApiSecret);
    // ...while the env files written at boot do hold them: the test would notice a renderer that dropped the fill.
    const run = runBoot(args);
    const values = [...run.env.values()].flatMap((vars) => [...vars.values()]).join('\n');
    expect(values).toContain(SAMPLE_SECRETS.livekitApiSecret);
  });

  it('a secret value cast to SecretArn is refused at run time, and the error does not echo it', () => {
    const leaked = SAMPLE_SECRETS.livekitApiSecret as SecretArn;
    for (const args of [
      { ...nodeArgs('small'), livekitApiSecretArn: leaked },
      { ...nodeArgs('livekit-mid'), redisAuthTokenArn: leaked },
      { ...nodeArgs('agent'), redis: { host: ELASTICACHE_HOST, tls: true, authTokenArn: leaked } },
      { ...nodeArgs('livekit-large'), alertWebhookUrlArn: leaked },
    ] as CloudInitArgs[]) {
      let message = '';
      try {
        renderCloudInit(args);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message, args.role).toMatch(/must be a Secrets Manager secret ARN/);
      expect(message).not.toContain(leaked);
    }
  });

  it('SecretArn admits ARNs only, and knows their region', () => {
    expect(isSecretArn(ARNS.redisAuthToken)).toBe(true);
    expect(regionOfSecretArn(ARNS.redisAuthToken)).toBe('eu-west-1');
    expect(regionOfSecretArn(secretArn('arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x-AbCdEf'))).toBe('us-gov-west-1');
    for (const bad of ['', 'hunter2', 'arn:aws:s3:::bucket', 'arn:aws:secretsmanager:us-east-1:123:secret:x', `arn:aws:secretsmanager:us-east-1:123456789012:secret:a b`]) {
      expect(isSecretArn(bad), bad).toBe(false);
    }
  });

  it('the node directory the boot script defaults to is the one compose and the unit use', () => {
    expect(writtenFiles(nodeArgs('small')).get(NODE_FILES.bootScript)).toContain(`ROOT="\${VOICE_AGENT_ROOT:-${NODE_DIR}}"`);
    expect(NODE_FILES.runDir).toBe(`${NODE_DIR}/run`);
  });
});

describe('the single node (small, mid): data volume and agent image parameter', () => {
  it.each(['small', 'livekit-mid'] as const)('%s: mounts the data volume found by its id, and makes a file system only on a blank one', (role) => {
    const blank = runBoot(nodeArgs(role));
    expect(blank.status, blank.stderr).toBe(0);
    const device = join(blank.root, 'dev', `nvme-Amazon_Elastic_Block_Store_${DATA_VOLUME_ID.replace('-', '')}`);
    expect(blank.log).toContain(`mkfs.ext4 -q -L voice-data ${device}`);
    expect(blank.log).toContain(`mount -o noatime ${device} ${join(blank.root, 'data')}`);
    expect(existsSync(join(blank.root, 'data', role === 'small' ? 'caddy' : 'redis'))).toBe(true);

    // A replacement instance finds the file system the first one made: it must never format it again.
    const reattached = runBoot(nodeArgs(role), SECRET_BY_ARN, { fstype: 'ext4' });
    expect(reattached.status, reattached.stderr).toBe(0);
    expect(reattached.log).not.toContain('mkfs');
    expect(reattached.log).toContain('mount -o noatime');
  });

  it('fails, writing nothing, while the data volume is not attached (systemd retries the unit)', () => {
    const run = runBoot(nodeArgs('small'), SECRET_BY_ARN, { volumeAttached: false });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`data volume ${DATA_VOLUME_ID} is not attached`);
    expect(run.env.size).toBe(0);
  });

  it('reads the agent image from its SSM parameter into image.env (compose interpolates it), and logs docker in to its registry', () => {
    const run = runBoot(nodeArgs('livekit-mid'));
    expect(run.status, run.stderr).toBe(0);
    expect(Object.fromEntries(envOf(run, NODE_FILES.imageEnv))).toEqual({ AGENT_IMAGE });
    expect(run.log).toContain(`ssm region=${IMAGE_PARAMETER.region} name=${IMAGE_PARAMETER.ssmParameter}`);
    expect(run.log).toContain('docker login --username AWS --password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com');
    const compose = parse(writtenFiles(nodeArgs('livekit-mid')).get(NODE_FILES.compose)!) as ComposeFile;
    for (const name of ['intake', 'dispatcher'] as const) expect(compose.services[name]!.image).toMatch(/^\$\{AGENT_IMAGE:\?/);
  });

  it.each([
    ['a moving tag', '123456789012.dkr.ecr.us-east-1.amazonaws.com/voice-agent:latest'],
    ['no tag or digest', '123456789012.dkr.ecr.us-east-1.amazonaws.com/voice-agent'],
    ['shell syntax', 'voice-agent:1.0;reboot'],
  ])('refuses %s in the image parameter, writing nothing', (_name, image) => {
    const run = runBoot(nodeArgs('small'), SECRET_BY_ARN, { image });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('the agent image parameter holds no pinned image reference');
    expect(run.env.size).toBe(0);
  });

  it('the single node user data holds the parameter name, not the image: a new image changes nothing in it', () => {
    for (const role of ['small', 'livekit-mid'] as const) {
      const text = renderCloudInit(nodeArgs(role));
      expect(text).not.toContain(AGENT_IMAGE);
      expect(text).toContain(IMAGE_PARAMETER.ssmParameter);
    }
    for (const role of ['agent', 'livekit-large'] as const) expect(writtenFiles(nodeArgs(role)).has(NODE_FILES.imageWatchScript), role).toBe(false);
  });
});

describe('image-watch.sh rolls the single node to a new agent image', () => {
  const NEW_IMAGE = `${AGENT_IMAGE.replace(/:[^:]+$/, '')}:1.5.0@sha256:${'a'.repeat(64)}`;

  interface Watch {
    /** The running image (image.env), or null for none. */
    current: string | null;
    /** The small box's running agent slot (run/agent-slot); default none (the script assumes agent-a). */
    slot?: string;
    /** Ports whose service answers its health check once started (the stub curl). */
    healthy?: string;
  }
  function runWatch(role: 'small' | 'livekit-mid', parameter: string, world: Watch) {
    const { root, log, env } = prepareNode({ image: parameter }, SECRET_BY_ARN);
    mkdirSync(join(root, 'run'), { recursive: true });
    if (world.current !== null) writeFileSync(join(root, 'run', 'image.env'), `AGENT_IMAGE='${world.current}'\n`);
    if (world.slot !== undefined) writeFileSync(join(root, 'run', 'agent-slot'), `${world.slot}\n`);
    writeFileSync(join(root, 'image-watch.sh'), writtenFiles(nodeArgs(role)).get(NODE_FILES.imageWatchScript)!);
    const result = spawnSync('bash', [join(root, 'image-watch.sh')], { encoding: 'utf8', env: { ...env, STUB_HEALTHY: world.healthy ?? '8080 8081 8082' } });
    const read = (name: string) => (existsSync(join(root, 'run', name)) ? readFileSync(join(root, 'run', name), 'utf8') : null);
    const lines = readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('docker') || l.startsWith('curl'));
    // "compose <verb> <args>" for each docker compose call, and the health checks, in order.
    const steps = lines.map((l) =>
      l.startsWith('curl') ? l : l.startsWith('docker compose') ? `compose ${/ --env-file \S+ (.*?) stdin=/.exec(l)![1]}` : l.replace(/ stdin=.*$/, ''),
    );
    return { status: result.status, stderr: result.stderr, stdout: result.stdout, lines, steps, root, imageEnv: read('image.env'), slot: read('agent-slot') };
  }
  const up = (service: string) => `compose up --detach --no-deps ${service}`;
  const healthy = (port: number, path = '/') => `curl http://127.0.0.1:${port}${path} 200`;

  it('does nothing while the parameter holds the running image', () => {
    const run = runWatch('small', AGENT_IMAGE, { current: AGENT_IMAGE });
    expect(run.status, run.stderr).toBe(0);
    expect(run.lines).toEqual([]);
  });

  it('small: pulls first, starts the new worker in the other slot, and only once it is registered stops the old one, with one SIGTERM', () => {
    const run = runWatch('small', NEW_IMAGE, { current: AGENT_IMAGE, slot: 'agent-a' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.steps[0]).toMatch(/^docker login --username AWS --password-stdin 123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com/);
    expect(run.steps[1]).toBe(`docker pull --quiet ${NEW_IMAGE}`);
    // The new worker starts beside the old one, answers its health port, and only then does the old one stop.
    const start = run.steps.indexOf(up('agent-b'));
    const registered = run.steps.indexOf(healthy(8082));
    const stop = run.steps.indexOf('compose stop agent-a');
    expect([start, registered, stop].every((i) => i > 1), run.steps.join('\n')).toBe(true);
    expect(start).toBeLessThan(registered);
    expect(registered).toBeLessThan(stop);
    // One stop (compose stop: the stop signal once, SIGKILL only after its stop_grace_period), never a kill or a restart.
    expect(run.steps.filter((s) => /agent-a/.test(s) && /compose (stop|kill|restart|down|up|rm --force --stop)/.test(s))).toEqual(['compose stop agent-a']);
    // Then removed, once stopped; the running slot and image are recorded for the next roll and for sip-watch.
    expect(run.steps.at(-1)).toBe('compose rm --force agent-a');
    expect(run.slot).toBe('agent-b\n');
    expect(run.imageEnv).toBe(`AGENT_IMAGE='${NEW_IMAGE}'\n`);
    // Every compose call ran with the new image (the env file still named the old one meanwhile).
    for (const line of run.lines.filter((l) => l.startsWith('docker compose'))) expect(line.endsWith(` image=${NEW_IMAGE}`), line).toBe(true);
    // intake, then (once it answers /healthz) the dispatcher; never both at once, and never the agent slots together.
    const intake = run.steps.indexOf(up('intake'));
    expect(run.steps.indexOf(healthy(8080, '/healthz'))).toBeGreaterThan(intake);
    expect(run.steps.indexOf(up('dispatcher'))).toBeGreaterThan(run.steps.indexOf(healthy(8080, '/healthz')));
    expect(intake).toBeGreaterThan(registered);
    expect(run.stdout).toContain('agent-b is registered; agent-a drains its calls');
  });

  it('small: the next roll goes back to agent-a (ports 8081), draining agent-b', () => {
    const run = runWatch('small', NEW_IMAGE, { current: AGENT_IMAGE, slot: 'agent-b' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.steps.indexOf(up('agent-a'))).toBeLessThan(run.steps.indexOf(healthy(8081)));
    expect(run.steps.indexOf(healthy(8081))).toBeLessThan(run.steps.indexOf('compose stop agent-b'));
    expect(run.slot).toBe('agent-a\n');
  });

  it('small: a new worker that never registers is removed, the old one keeps running untouched, and nothing else rolls', () => {
    const run = runWatch('small', NEW_IMAGE, { current: AGENT_IMAGE, slot: 'agent-a', healthy: '8080 8081' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/agent-b on \S+ did not register with LiveKit \(GET http:\/\/127\.0\.0\.1:8082\/\) within 300 s: removed it; agent-a keeps serving/);
    // It asked for the whole 300 s (every 5 s), then removed the new worker.
    expect(run.steps.filter((s) => s === 'curl http://127.0.0.1:8082/ refused')).toHaveLength(60);
    expect(run.steps.at(-1)).toBe('compose rm --force --stop agent-b');
    expect(run.steps.some((s) => s.includes('agent-a'))).toBe(false);
    expect(run.steps.some((s) => s === up('intake') || s === up('dispatcher'))).toBe(false);
    // The record still names the running worker and image: the next run tries the roll again.
    expect(run.slot).toBe('agent-a\n');
    expect(run.imageEnv).toBe(`AGENT_IMAGE='${AGENT_IMAGE}'\n`);
  });

  it('livekit-mid: no agent worker on the node; intake, then the dispatcher, one at a time, then the record', () => {
    const run = runWatch('livekit-mid', NEW_IMAGE, { current: AGENT_IMAGE });
    expect(run.status, run.stderr).toBe(0);
    expect(run.steps.slice(2)).toEqual([up('intake'), healthy(8080, '/healthz'), up('dispatcher')]);
    expect(run.imageEnv).toBe(`AGENT_IMAGE='${NEW_IMAGE}'\n`);
    expect(run.slot).toBeNull();
  });

  it('refuses an unpinned image and keeps the running one', () => {
    const run = runWatch('small', 'acme/voice-agent:latest', { current: AGENT_IMAGE });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('holds no pinned image reference');
    expect(run.imageEnv).toBe(`AGENT_IMAGE='${AGENT_IMAGE}'\n`);
    expect(run.lines).toEqual([]);
  });
});

describe("boot.sh writes the agent worker's own environment from the operator's secret", () => {
  const providersEnv = (run: BootRun) => envOf(run, NODE_FILES.agentProvidersEnv);
  const withAgentEnv = (secretString: string) => ({ ...SECRET_BY_ARN, [ARNS.agentEnv]: secretString });

  it.each(['small', 'agent'] as const)('%s: agent-providers.env holds exactly the secret’s variables, 0600, read from the secret’s region', (role) => {
    const run = runBoot(nodeArgs(role));
    expect(run.status, run.stderr).toBe(0);
    expect(Object.fromEntries(providersEnv(run))).toEqual(JSON.parse(SAMPLE_SECRETS.agentEnv));
    expect(statSync(join(run.root, 'run', 'agent-providers.env')).mode & 0o777).toBe(0o600);
    expect(run.log).toContain(`secretsmanager region=us-east-1 id=${ARNS.agentEnv}`);
    // Every expected key is there: no warning.
    expect(run.stderr).not.toContain('warning');
  });

  it('only the agent worker reads the file: intake and dispatcher do not, and nothing else on the LiveKit-only roles', () => {
    const small = parse(writtenFiles(nodeArgs('small')).get(NODE_FILES.compose)!) as ComposeFile;
    for (const [name, svc] of Object.entries(small.services)) {
      expect(svc.env_file?.includes(NODE_FILES.agentProvidersEnv) ?? false, name).toBe(name === 'agent-a' || name === 'agent-b');
    }
    const agent = parse(writtenFiles(nodeArgs('agent')).get(NODE_FILES.compose)!) as ComposeFile;
    expect(agent.services.agent!.env_file).toEqual([NODE_FILES.agentEnv, NODE_FILES.agentProvidersEnv]);
    for (const role of ['livekit-mid', 'livekit-large'] as const) {
      expect(writtenFiles(nodeArgs(role)).get(NODE_FILES.compose)).not.toContain('agent-providers.env');
      expect(writtenFiles(nodeArgs(role)).get(NODE_FILES.bootScript)).not.toContain('read_agent_env');
      const withEnv = { ...nodeArgs(role), agentEnv: { secretArn: ARNS.agentEnv } } as CloudInitArgs;
      expect(() => renderCloudInit(withEnv)).toThrow(/agentEnv applies to the roles that run the agent worker/);
    }
  });

  it('the value reaches the worker as written: spaces and double quotes kept, read literally (NAME=\'value\')', () => {
    const run = runBoot(nodeArgs('small'), withAgentEnv('{"TTS_VOICE": "a \\"quoted\\" name $HOME", "OPENAI_API_KEY": "k", "DEEPGRAM_API_KEY": "d", "CARTESIA_API_KEY": "c"}'));
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(join(run.root, 'run', 'agent-providers.env'), 'utf8').split('\n')[0]).toBe(`TTS_VOICE='a "quoted" name $HOME'`);
  });

  it('warns, naming them, when keys the providers need are missing (the worker will refuse to start), and still boots', () => {
    const run = runBoot(nodeArgs('agent'), withAgentEnv('{"OPENAI_API_KEY": "sk-only-this-one"}'));
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain(`warning: agent env secret ${ARNS.agentEnv} has no DEEPGRAM_API_KEY, CARTESIA_API_KEY`);
    expect(run.stderr).not.toContain('sk-only-this-one');
    expect(Object.fromEntries(providersEnv(run))).toEqual({ OPENAI_API_KEY: 'sk-only-this-one' });
  });

  it('without a secret the file is empty (compose needs it to exist) and the boot says so', () => {
    const { agentEnv: _none, ...args } = nodeArgs('small') as CloudInitArgs & { agentEnv?: unknown };
    const run = runBoot(args as CloudInitArgs);
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(join(run.root, 'run', 'agent-providers.env'), 'utf8')).toBe('');
    expect(run.stderr).toContain('no agent env secret (aws.agentEnvSecretArn): the agent worker gets no provider API keys');
  });

  const CANARY = 'Sup3rSecretCanaryValue';
  it.each([
    ['not JSON', `OPENAI_API_KEY=${CANARY}`, /SecretString is not JSON \(line 1, column 1\)/],
    ['a JSON array, not an object', `["${CANARY}"]`, /SecretString must be a JSON object of environment variables .*not a JSON array/],
    ['a JSON string', `"${CANARY}"`, /must be a JSON object .*not a JSON str/],
    ['a key that is not a variable name (shown by position: it may be a pasted value)', `{"OPENAI_API_KEY": "a", "${CANARY}-x": "b"}`, /key #2 is not an environment variable name/],
    ['a name the stack sets (REDIS_URL)', `{"REDIS_URL": "redis://${CANARY}@evil:6379"}`, /REDIS_URL is set by the stack itself; remove it from the secret/],
    ['a name under a stack prefix (LIVEKIT_*)', `{"LIVEKIT_API_SECRET": "${CANARY}"}`, /LIVEKIT_API_SECRET is set by the stack itself/],
    ['a name the compose file sets (STACK_NAME)', `{"STACK_NAME": "${CANARY}"}`, /STACK_NAME is set by the stack itself/],
    ['a newline in a value', `{"OPENAI_API_KEY": "sk-${CANARY}\\nX=1"}`, /the value of OPENAI_API_KEY must be printable ASCII on one line, without ' or \\/],
    ['a single quote in a value', `{"OPENAI_API_KEY": "sk-${CANARY}'"}`, /the value of OPENAI_API_KEY must be printable ASCII on one line/],
    ['a trailing backslash (it would escape the closing quote)', `{"OPENAI_API_KEY": "sk-${CANARY}\\\\"}`, /the value of OPENAI_API_KEY must be printable ASCII/],
    ['a number, not a string', `{"OPENAI_API_KEY": 12345678${CANARY.length}}`, /the value of OPENAI_API_KEY must be a JSON string/],
    ['a key given twice', `{"OPENAI_API_KEY": "${CANARY}", "OPENAI_API_KEY": "${CANARY}2"}`, /key #2 \(OPENAI_API_KEY\) appears twice/],
  ])('refuses %s: the boot fails with one line naming the key, never the value, and writes nothing', (_what, secretString, message) => {
    const run = runBoot(nodeArgs('small'), withAgentEnv(secretString));
    expect(run.status).not.toBe(0);
    const lines = run.stderr.trim().split('\n');
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^voice-agent boot: agent env secret ${ARNS.agentEnv.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
    expect(lines[0]).toMatch(message);
    expect(run.stderr).not.toContain(CANARY);
    expect(run.env.size).toBe(0);
    expect(existsSync(join(run.root, 'run', 'agent-providers.env'))).toBe(false);
  });

  it('fails, naming the ARN, when the secret cannot be read (instance role, network)', () => {
    const { [ARNS.agentEnv]: _missing, ...rest } = SECRET_BY_ARN;
    const run = runBoot(nodeArgs('agent'), rest);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`agent env: cannot read secret ${ARNS.agentEnv}`);
    expect(run.env.size).toBe(0);
  });

  it('no provider key in the user data: the boot script names the secret by ARN only', () => {
    for (const role of ['small', 'agent'] as const) {
      const text = renderCloudInit(nodeArgs(role));
      for (const value of Object.values(SAMPLE_PROVIDER_KEYS)) expect(text).not.toContain(value);
      expect(text).toContain(`read_agent_env '${ARNS.agentEnv}' 'us-east-1'`);
    }
  });
});
