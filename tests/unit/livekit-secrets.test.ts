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
  NODE_DIR,
  NODE_FILES,
  NODE_ROLES,
  regionOfSecretArn,
  renderCloudInit,
  secretArn,
  type SecretArn,
} from '../../components/livekit/index.js';
import { API_KEY, ARNS, ELASTICACHE_HOST, nodeArgs, SAMPLE_SECRETS, SECRET_BY_ARN } from './livekit-fixtures.js';

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
else
  exit 2
fi
`,
  curl: `#!/bin/bash
for arg in "$@"; do
  case $arg in
    */latest/api/token) echo imds-session-token; exit 0 ;;
    */meta-data/local-ipv4) echo 10.0.1.23; exit 0 ;;
  esac
done
exit 22
`,
  docker: `#!/bin/bash
echo "docker $* stdin=$(cat)" >>"$STUB_LOG"
`,
  sleep: '#!/bin/bash\nexit 0\n',
};

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

let runs = 0;
function runBoot(args: CloudInitArgs, secrets: Record<string, string> = SECRET_BY_ARN): BootRun {
  const root = join(work, `node-${++runs}`);
  const secretDir = join(root, 'secrets-manager');
  mkdirSync(secretDir, { recursive: true });
  for (const [arn, value] of Object.entries(secrets)) writeFileSync(join(secretDir, arn.replace(/[:/]/g, '_')), value);
  const script = writtenFiles(args).get(NODE_FILES.bootScript)!;
  writeFileSync(join(root, 'boot.sh'), script);
  const log = join(root, 'stub.log');
  writeFileSync(log, '');
  const result = spawnSync('bash', [join(root, 'boot.sh')], {
    encoding: 'utf8',
    env: { PATH: `${join(work, 'bin')}:${process.env.PATH}`, VOICE_AGENT_ROOT: root, STUB_SECRETS: secretDir, STUB_LOG: log },
  });
  const env = new Map<string, Map<string, string>>();
  for (const name of ['livekit.env', 'agent.env', 'redis.env']) {
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
    expect([...run.env.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [path, names] of want) expect([...envOf(run, path).keys()], path).toEqual([...names]);
    expect(statSync(join(run.root, 'run')).mode & 0o777).toBe(0o700);
    for (const name of ['livekit.env', 'agent.env', 'redis.env']) {
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
    const run = runBoot({ ...nodeArgs('agent'), agentImage: 'ghcr.io/acme/voice-agent:1.4.0' });
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
