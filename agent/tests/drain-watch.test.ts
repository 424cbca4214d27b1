/**
 * `voice-agent drain-watch` against the edges of the world it talks to, each as strict as the
 * real thing: an IMDSv2 stand-in (session tokens required: a GET without one is 401), the Auto
 * Scaling API stand-in (query protocol, SigV4 checked, ValidationError for an action that is not
 * waiting) reached through the real @aws-sdk/client-auto-scaling with an endpoint override, and a
 * Docker Engine API stand-in whose containers exit only when their sessions reach 0 after SIGTERM.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeAutoScaling } from '../src/dev/fake-autoscaling.js';
import { FakeDocker } from '../src/dev/fake-docker.js';
import { FakeImds } from '../src/dev/fake-imds.js';
import { runVoiceAgent, spawnVoiceAgent, type VoiceAgentProcess } from '../src/dev/processes.js';
import { ImdsClient } from '../src/lifecycle/imds.js';
import { type DrainWatch, type DrainWatchConfig, parseDrainWatchConfig, startDrainWatch } from '../src/lifecycle/drain-watch.js';
import { ConfigError } from '../src/config.js';
import { createLogger, type Logger } from '../src/log.js';

const CREDENTIALS = { accessKeyId: 'AKIDDRAINWATCHTEST01', secretAccessKey: 'drain-watch-test-secret-key-0123456789ab' };
const REGION = 'eu-west-1';
const INSTANCE = 'i-0123456789abcdef0';
const GROUP = 'voice-agents-4f2a9c1';
const HOOK = 'voice-agent-drain';

async function waitFor(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let dir: string;
let imds: FakeImds;
let autoscaling: FakeAutoScaling;
let docker: FakeDocker;
let imdsUrl: string;
let autoscalingUrl: string;
let watch: DrainWatch | undefined;
let proc: VoiceAgentProcess | undefined;
const logs: Array<Record<string, unknown>> = [];
const log: Logger = createLogger({ level: 'debug', write: (line) => void logs.push(JSON.parse(line) as Record<string, unknown>) });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'drain-watch-'));
  imds = new FakeImds({ items: { 'instance-id': INSTANCE, 'placement/region': REGION, 'tags/instance/aws:autoscaling:groupName': GROUP } });
  imds.setTargetLifecycleState('InService');
  imdsUrl = await imds.start();
  autoscaling = new FakeAutoScaling({ ...CREDENTIALS, region: REGION });
  autoscaling.addInstance(INSTANCE, GROUP);
  autoscalingUrl = await autoscaling.start();
  docker = new FakeDocker(join(dir, 'docker.sock'));
  await docker.start();
  logs.length = 0;
});

afterEach(async () => {
  await watch?.close();
  watch = undefined;
  await proc?.kill('SIGKILL');
  proc = undefined;
  await Promise.all([imds.stop(), autoscaling.stop(), docker.stop()]);
  await rm(dir, { recursive: true, force: true });
});

function config(over: Partial<DrainWatchConfig> = {}): DrainWatchConfig {
  return {
    ...parseDrainWatchConfig({ DRAIN_SERVICES: 'agent', DRAIN_SECONDS: '60', DRAIN_POLL_SECONDS: '1', IMDS_ENDPOINT: imdsUrl, DOCKER_SOCKET: docker.socketPath }),
    ...over,
  };
}

/** The real SDK client, pointed at the stand-in, with static test credentials. */
const sdk = (region: string) => new AutoScalingClient({ region, endpoint: autoscalingUrl, credentials: CREDENTIALS, maxAttempts: 1 });

describe('drain-watch', () => {
  it('leaves an instance in service alone', async () => {
    const agent = docker.addContainer({ id: 'agent1', project: 'voice-agent', service: 'agent', activeSessions: 3 });
    watch = startDrainWatch(config(), { log, autoscaling: sdk });
    // Three polls with a token each time the state is read.
    await waitFor('three lifecycle polls', () => imds.tokensIssued >= 1 && logs.some((l) => l.state === 'InService'));
    await new Promise((r) => setTimeout(r, 2500));
    expect(agent.signals).toEqual([]);
    expect(autoscaling.completed).toEqual([]);
    expect(imds.unauthorized).toBe(0);
  });

  it('on Terminated: one SIGTERM to the agent, waits while calls are active, completes the action only after they reach 0', async () => {
    const agent = docker.addContainer({ id: 'agent1', project: 'voice-agent', service: 'agent', activeSessions: 2 });
    const other = docker.addContainer({ id: 'intake1', project: 'voice-agent', service: 'intake', activeSessions: 0 });
    watch = startDrainWatch(config(), { log, autoscaling: sdk });
    await waitFor('the first poll', () => logs.some((l) => l.state === 'InService'));

    autoscaling.beginTermination(INSTANCE, HOOK, 120);
    imds.setTargetLifecycleState('Terminated');
    await waitFor('SIGTERM to the agent', () => agent.signals.length > 0);
    expect(agent.signals).toEqual(['SIGTERM']);

    // Calls still active: the instance is held; the watcher has not let the group go on.
    docker.setActiveSessions('agent1', 1);
    await new Promise((r) => setTimeout(r, 1500));
    expect(agent.running).toBe(true);
    expect(autoscaling.completed).toEqual([]);
    expect(autoscaling.lifecycleState(INSTANCE)).toBe('Terminating:Wait');

    const lastCallEndedAt = Date.now();
    docker.setActiveSessions('agent1', 0);
    const outcome = await watch.done;
    expect(outcome).toMatchObject({ reason: 'drained', instanceId: INSTANCE, groupName: GROUP, completed: true });
    expect(autoscaling.completed).toEqual([{ hookName: HOOK, groupName: GROUP, instanceId: INSTANCE, result: 'CONTINUE', atMs: expect.any(Number) }]);
    expect(autoscaling.completed[0]!.atMs).toBeGreaterThanOrEqual(lastCallEndedAt);
    expect(agent).toMatchObject({ exit: 'drained', signals: ['SIGTERM'] });
    // Only the services named in DRAIN_SERVICES are stopped.
    expect(other.signals).toEqual([]);
    expect(autoscaling.refused).toEqual([]);
  });

  it('at the drain time, the container is killed and the action completed anyway', async () => {
    const agent = docker.addContainer({ id: 'agent1', project: 'voice-agent', service: 'agent', activeSessions: 5 });
    watch = startDrainWatch(config({ drainSeconds: 2 }), { log, autoscaling: sdk });
    autoscaling.beginTermination(INSTANCE, HOOK, 120);
    const terminatedAt = Date.now();
    imds.setTargetLifecycleState('Terminated');
    const outcome = await watch.done;
    // The stop call's timeout ended it (SIGKILL), never before the drain time.
    expect(agent).toMatchObject({ exit: 'killed', signals: ['SIGTERM', 'SIGKILL'] });
    expect(Date.now() - terminatedAt).toBeGreaterThanOrEqual(2000);
    expect(outcome).toMatchObject({ completed: true });
    expect(autoscaling.completed).toHaveLength(1);
  });

  it('finds its group through the Auto Scaling API when instance tags are not in metadata', async () => {
    imds.items.delete('tags/instance/aws:autoscaling:groupName');
    docker.addContainer({ id: 'lk1', project: 'voice-agent', service: 'livekit', activeSessions: 0 });
    watch = startDrainWatch(config({ services: ['livekit'] }), { log, autoscaling: sdk });
    autoscaling.beginTermination(INSTANCE, HOOK, 120);
    imds.setTargetLifecycleState('Terminated');
    expect(await watch.done).toMatchObject({ groupName: GROUP, completed: true });
  });

  it('reports an action the group no longer holds (the heartbeat ran out) instead of retrying forever', async () => {
    docker.addContainer({ id: 'agent1', project: 'voice-agent', service: 'agent', activeSessions: 1 });
    watch = startDrainWatch(config({ drainSeconds: 1 }), { log, autoscaling: sdk });
    autoscaling.beginTermination(INSTANCE, HOOK, 0.2);
    imds.setTargetLifecycleState('Terminated');
    const outcome = await watch.done;
    expect(outcome.completed).toBe(false);
    expect(autoscaling.refused).toEqual([{ action: 'CompleteLifecycleAction', code: 'ValidationError', message: `No active Lifecycle Action found with instance ID ${INSTANCE}` }]);
  });

  it('as the image runs it: `voice-agent drain-watch` with the SDK reading credentials and the endpoint from the environment', async () => {
    const agent = docker.addContainer({ id: 'agent1', project: 'voice-agent', service: 'agent', activeSessions: 1 });
    proc = spawnVoiceAgent(['drain-watch'], {
      DRAIN_SERVICES: 'agent',
      DRAIN_SECONDS: '60',
      DRAIN_POLL_SECONDS: '1',
      IMDS_ENDPOINT: imdsUrl,
      DOCKER_SOCKET: docker.socketPath,
      AWS_ENDPOINT_URL_AUTO_SCALING: autoscalingUrl,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      // Nothing else may answer for credentials or region.
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    await proc.waitForRecord((r) => r.msg === 'target lifecycle state' && r.state === 'InService');
    autoscaling.beginTermination(INSTANCE, HOOK, 120);
    imds.setTargetLifecycleState('Terminated');
    await waitFor('SIGTERM to the agent', () => agent.signals.length > 0);
    expect(autoscaling.completed).toEqual([]);
    docker.setActiveSessions('agent1', 0);
    await proc.waitForRecord((r) => r.msg === 'lifecycle action completed');
    expect(autoscaling.completed.map((c) => [c.groupName, c.instanceId, c.hookName])).toEqual([[GROUP, INSTANCE, HOOK]]);
    // It stays up (compose keeps the node's project running) until the instance goes; SIGTERM ends it cleanly.
    expect(proc.child.exitCode).toBeNull();
    expect(await proc.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('refuses a missing DRAIN_SERVICES with one line and exit 2', async () => {
    expect(() => parseDrainWatchConfig({})).toThrow(ConfigError);
    const r = await runVoiceAgent(['drain-watch'], { DRAIN_SECONDS: '60' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^voice-agent: DRAIN_SERVICES is required/)]);
    expect(() => parseDrainWatchConfig({ DRAIN_SERVICES: 'agent', DRAIN_SECONDS: '7200' })).toThrow(/DRAIN_SECONDS="7200": must be a whole number from 1 to 7080/);
  });
});

describe('the IMDSv2 stand-in is as strict as the real service', () => {
  it('refuses a GET without a token (401), a token request without a TTL (400), and answers with one', async () => {
    expect((await fetch(`${imdsUrl}/latest/meta-data/instance-id`)).status).toBe(401);
    expect((await fetch(`${imdsUrl}/latest/meta-data/instance-id`, { headers: { 'X-aws-ec2-metadata-token': 'made-up' } })).status).toBe(401);
    expect((await fetch(`${imdsUrl}/latest/api/token`, { method: 'PUT' })).status).toBe(400);
    expect((await fetch(`${imdsUrl}/latest/api/token`, { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '21601' } })).status).toBe(400);
    const token = await (await fetch(`${imdsUrl}/latest/api/token`, { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' } })).text();
    const answer = await fetch(`${imdsUrl}/latest/meta-data/autoscaling/target-lifecycle-state`, { headers: { 'X-aws-ec2-metadata-token': token } });
    expect([answer.status, await answer.text()]).toEqual([200, 'InService']);
  });

  it('the client takes a new token when the old one has expired', async () => {
    const client = new ImdsClient({ endpoint: imdsUrl });
    expect(await client.get('instance-id')).toBe(INSTANCE);
    imds.expireTokens();
    expect(await client.get('instance-id')).toBe(INSTANCE);
    expect(imds.unauthorized).toBe(1);
    expect(imds.tokensIssued).toBe(2);
  });
});

describe('the Auto Scaling stand-in is as strict as the real API', () => {
  it('refuses a request signed with the wrong secret', async () => {
    const wrong = new AutoScalingClient({ region: REGION, endpoint: autoscalingUrl, credentials: { ...CREDENTIALS, secretAccessKey: 'not-the-secret-key-0123456789abcdefghij' }, maxAttempts: 1 });
    const { CompleteLifecycleActionCommand } = await import('@aws-sdk/client-auto-scaling');
    autoscaling.beginTermination(INSTANCE, HOOK, 120);
    await expect(wrong.send(new CompleteLifecycleActionCommand({ LifecycleHookName: HOOK, AutoScalingGroupName: GROUP, InstanceId: INSTANCE, LifecycleActionResult: 'CONTINUE' }))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
    });
    expect(autoscaling.completed).toEqual([]);
  });

  it('refuses to complete for another group or hook (ValidationError), accepts the right one once', async () => {
    const { CompleteLifecycleActionCommand } = await import('@aws-sdk/client-auto-scaling');
    const client = sdk(REGION);
    autoscaling.beginTermination(INSTANCE, HOOK, 120);
    const complete = (group: string, hook: string) =>
      client.send(new CompleteLifecycleActionCommand({ LifecycleHookName: hook, AutoScalingGroupName: group, InstanceId: INSTANCE, LifecycleActionResult: 'CONTINUE' }));
    await expect(complete('another-group', HOOK)).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(complete(GROUP, 'another-hook')).rejects.toMatchObject({ name: 'ValidationError' });
    await complete(GROUP, HOOK);
    await expect(complete(GROUP, HOOK)).rejects.toMatchObject({ name: 'ValidationError', message: `No active Lifecycle Action found with instance ID ${INSTANCE}` });
  });
});
