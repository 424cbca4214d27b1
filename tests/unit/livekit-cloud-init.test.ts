import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  type CloudInitArgs,
  cloudInitConfig,
  NODE_AMI,
  NODE_FILES,
  NODE_ROLES,
  type NodeRole,
  renderCloudInit,
  SYSTEMD_UNIT,
  UDP_BUFFER_SYSCTL,
  USER_DATA_MAX_BYTES,
  gzipUserData,
  IMAGE_WATCH_UNIT,
  renderSystemdUnit,
} from '../../components/livekit/index.js';
import { nodeArgs } from './livekit-fixtures.js';

interface WriteFile {
  path: string;
  permissions: string;
  owner: string;
  content: string;
}

function userData(role: NodeRole): { text: string; config: Record<string, unknown>; files: Map<string, WriteFile> } {
  const text = renderCloudInit(nodeArgs(role));
  const config = parse(text) as Record<string, unknown>;
  const files = new Map((config.write_files as WriteFile[]).map((file) => [file.path, file]));
  return { text, config, files };
}

function file(files: Map<string, WriteFile>, path: string): WriteFile {
  const found = files.get(path);
  if (!found) throw new Error(`user data writes no ${path}`);
  return found;
}

/**
 * `cloud-init schema` from the Debian package: `--config-file` since 22.2 (22.4 on Debian 12);
 * before that the command lived under `cloud-init devel schema`. The test fails, never skips,
 * when the tool is missing: CI must install it.
 */
function schemaCommand(): string[] {
  for (const command of [['schema'], ['devel', 'schema']]) {
    const help = cloudInit([...command, '--help']);
    if (help.status === 0 && help.stdout.includes('--config-file')) return [...command, '--config-file'];
  }
  throw new Error('this cloud-init has neither `cloud-init schema --config-file` nor `cloud-init devel schema --config-file`');
}

function cloudInit(args: string[]) {
  const result = spawnSync('cloud-init', args, { encoding: 'utf8' });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error('cloud-init is not installed, so user data cannot be validated: install the Debian package (apt-get update && apt-get install -y cloud-init)');
  }
  return result;
}

describe('cloud-init user data passes `cloud-init schema`', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'livekit-cloud-init-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function validate(name: string, text: string) {
    const path = join(dir, `${name}.yaml`);
    writeFileSync(path, text);
    return cloudInit([...schemaCommand(), path]);
  }

  it.each(NODE_ROLES)('%s', (role) => {
    const result = validate(role, userData(role).text);
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('Valid cloud-config');
  });

  it('the validator is not vacuous: it rejects a malformed config', () => {
    const result = validate('broken', '#cloud-config\nwrite_files: 3\nruncmd: {}\n');
    expect(result.status).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toMatch(/write_files/);
  });

  it('cloud-init is installed and reports its version', () => {
    const version = cloudInit(['--version']);
    expect(`${version.stdout}${version.stderr}`).toMatch(/\d+\.\d+/);
  });
});

describe('cloud-init content', () => {
  it.each(NODE_ROLES)('%s: starts with #cloud-config, uses only the modules it means to, fits EC2’s user-data limit', (role) => {
    const { text, config } = userData(role);
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    // `cloud-init schema` lets unknown top-level keys through: pin them here.
    expect(Object.keys(config).sort()).toEqual(['package_update', 'package_upgrade', 'packages', 'runcmd', 'snap', 'write_files']);
    // EC2 counts what it is sent: the gzip-compressed text (cloud-init decompresses it).
    expect(gzipUserData(text).length).toBeLessThan(USER_DATA_MAX_BYTES);
    // Room to spare for more services (the LiveKit SIP service comes next).
    // 6 KiB of EC2's 16 KiB kept free for what nodes gain later (the small box with SIP over TLS and the agent env secret is ~9 KB).
    expect(gzipUserData(text).length).toBeLessThan(USER_DATA_MAX_BYTES - 6 * 1024);
    expect(gunzipSync(gzipUserData(text)).toString('utf8')).toBe(text);
  });

  it('installs Docker and the compose plugin from Ubuntu’s archive and the AWS CLI snap (the AMI family is Ubuntu 24.04)', () => {
    const { config } = userData('agent');
    expect(NODE_AMI.family).toBe('ubuntu-24.04');
    expect(NODE_AMI.nameFilter.x86_64).toContain('ubuntu-noble-24.04-amd64');
    expect(NODE_AMI.nameFilter.arm64).toContain('ubuntu-noble-24.04-arm64');
    expect(config.packages).toEqual(['docker.io', 'docker-compose-v2']);
    expect(config.snap).toEqual({ commands: [['snap', 'install', 'aws-cli', '--classic']] });
  });

  const imageWatch = [NODE_FILES.imageWatchScript, `/etc/systemd/system/${IMAGE_WATCH_UNIT}.service`, `/etc/systemd/system/${IMAGE_WATCH_UNIT}.timer`];
  it.each([
    ['small', [NODE_FILES.livekitConfig, NODE_FILES.caddyConfig, ...imageWatch]],
    ['livekit-mid', [NODE_FILES.livekitConfig, ...imageWatch]],
    ['livekit-large', [NODE_FILES.livekitConfig]],
    ['agent', []],
  ] as const)('%s writes the config files it runs, the compose file, boot script, unit and sysctl', (role, configs) => {
    const { files } = userData(role);
    expect([...files.keys()].sort()).toEqual(
      [...configs, NODE_FILES.compose, NODE_FILES.bootScript, NODE_FILES.sysctl, `/etc/systemd/system/${SYSTEMD_UNIT}`].sort(),
    );
    expect(file(files, NODE_FILES.bootScript).permissions).toBe('0700');
    for (const written of files.values()) expect(written.owner).toBe('root:root');
  });

  it('multi-node LiveKit config on large only, pointing at ElastiCache', () => {
    const large = parse(file(userData('livekit-large').files, NODE_FILES.livekitConfig).content) as Record<string, unknown>;
    const mid = parse(file(userData('livekit-mid').files, NODE_FILES.livekitConfig).content) as Record<string, unknown>;
    expect(large.redis).toMatchObject({ address: 'master.vai-large.abc123.use1.cache.amazonaws.com:6379', tls: { enabled: true } });
    expect(mid).not.toHaveProperty('redis');
  });

  it('raises the UDP buffer limits to LiveKit’s 5 MB on every role', () => {
    expect(UDP_BUFFER_SYSCTL['net.core.rmem_max']).toBeGreaterThanOrEqual(5_000_000);
    for (const role of NODE_ROLES) {
      const content = file(userData(role).files, NODE_FILES.sysctl).content;
      expect(content).toMatch(/^net\.core\.rmem_max = 5000000$/m);
      expect(content).toMatch(/^net\.core\.wmem_max = 5000000$/m);
    }
  });

  it('a systemd unit with LimitNOFILE=500000 runs boot.sh before docker compose, and runcmd enables it', () => {
    const { config, files } = userData('livekit-mid');
    const unit = file(files, `/etc/systemd/system/${SYSTEMD_UNIT}`).content;
    expect(unit).toMatch(/^LimitNOFILE=500000$/m);
    expect(unit).toMatch(new RegExp(`^ExecStartPre=${NODE_FILES.bootScript}$`, 'm'));
    // The single node interpolates AGENT_IMAGE from the env file boot.sh writes from the SSM parameter.
    expect(unit).toMatch(new RegExp(`^ExecStart=/usr/bin/docker compose --file ${NODE_FILES.compose} --env-file ${NODE_FILES.imageEnv} up`, 'm'));
    expect(unit).toMatch(new RegExp(`^ExecStartPre=/usr/bin/docker compose --file ${NODE_FILES.compose} --env-file ${NODE_FILES.imageEnv} down`, 'm'));
    expect(renderSystemdUnit('agent', 600)).toMatch(new RegExp(`^ExecStart=/usr/bin/docker compose --file ${NODE_FILES.compose} up`, 'm'));
    expect(unit.indexOf(`ExecStartPre=${NODE_FILES.bootScript}`)).toBeLessThan(unit.indexOf('ExecStart='));
    expect(unit).toMatch(/^Requires=docker\.service$/m);
    expect(unit).toMatch(/^Restart=always$/m);
    // Long enough for LiveKit and the worker to drain (600 s by default) before systemd kills them.
    expect(unit).toMatch(/^TimeoutStopSec=690$/m);
    expect(config.runcmd).toEqual([
      ['sysctl', '-p', NODE_FILES.sysctl],
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', SYSTEMD_UNIT],
      ['systemctl', 'enable', '--now', `${IMAGE_WATCH_UNIT}.timer`],
    ]);
    // The image roll runs only while the node runs, every minute, and may last as long as a drain.
    const watch = file(files, `/etc/systemd/system/${IMAGE_WATCH_UNIT}.service`).content;
    expect(watch).toMatch(new RegExp(`^Requisite=${SYSTEMD_UNIT}$`, 'm'));
    expect(watch).toMatch(new RegExp(`^ExecStart=${NODE_FILES.imageWatchScript}$`, 'm'));
    // The pull (300), the new worker's registration (300), the intake's health (120), the old worker's drain (600 + 60).
    expect(watch).toMatch(/^TimeoutStartSec=1380$/m);
    expect(file(files, `/etc/systemd/system/${IMAGE_WATCH_UNIT}.timer`).content).toMatch(/^OnUnitInactiveSec=1min$/m);
    expect(userData('agent').config.runcmd).not.toContainEqual(['systemctl', 'enable', '--now', `${IMAGE_WATCH_UNIT}.timer`]);
  });

  it('throws, naming the limit, when the user data would exceed 16 KiB even compressed', () => {
    // Random text does not compress: 24 KiB of hex stays over the limit after gzip.
    const huge = { ...nodeArgs('agent'), extraEnvironment: { NOTE: randomBytes(USER_DATA_MAX_BYTES * 1.5).toString('base64') } } as CloudInitArgs;
    expect(() => renderCloudInit(huge)).toThrow(/16384-byte limit/);
  });

  it('the object builder and the text agree', () => {
    for (const role of NODE_ROLES) expect(parse(renderCloudInit(nodeArgs(role)))).toEqual(cloudInitConfig(nodeArgs(role)));
  });
});
