/** Pure modules: configuration, call ids, webhook classification, LiveKit answers, sweep and capacity rules, EMF records, argv parsing. */
import { METRICS } from '@voice-agent-infra/common';
import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../src/cli/args.js';
import { ConfigError, parseDispatcherConfig, parseIntakeConfig, parseQueueCommandConfig } from '../src/config.js';
import { classifyWebhook, PARTICIPANT_KIND_SIP } from '../src/queue/events.js';
import { callIdForRoom, callIdForSession, isValidCallId } from '../src/queue/keys.js';
import { agentInRoom, joblessDispatches, PARTICIPANT_KIND_AGENT, type RoomDispatch, type RoomParticipant } from '../src/queue/livekit.js';
import { callersWithoutAgent, callsWithRoomGone, hasLiveDispatch, type ActiveCall } from '../src/queue/sweep-plan.js';
import { offeredSessions, sessionsAtThreshold, workerLoad } from '../src/worker/capacity.js';
import { cfsQuotaCpus, cgroupQuotaCpus, effectiveCpus, parseCpuMax } from '../src/worker/cpu.js';
import { defaultMaxSessions } from '../src/worker/help.js';
import { buildEmfRecords, EMF_MAX_VALUES } from '../src/telemetry/emf.js';

const base = {
  REDIS_URL: 'redis://localhost:6379',
  LIVEKIT_URL: 'http://livekit:7880',
  LIVEKIT_API_KEY: 'key',
  LIVEKIT_API_SECRET: 'secret',
  INTAKE_TOKEN: '0123456789abcdef',
};

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('applies the documented defaults', () => {
    const d = parseDispatcherConfig(base);
    expect(d).toMatchObject({
      agentName: 'voice-agent',
      fleetCapacity: undefined,
      calls: { maxAttempts: 3, maxWaitSeconds: 120, backoffMs: 1000 },
      redis: { url: base.REDIS_URL, prefix: '{voice-queue}' },
      metrics: { namespace: 'VoiceAgent', stack: 'default', emfIntervalSeconds: 60 },
    });
    expect(parseIntakeConfig(base)).toMatchObject({ port: 8080, host: '0.0.0.0', token: base.INTAKE_TOKEN });
    expect(d).toMatchObject({ confirmSeconds: 10, reconcileSeconds: 15 });
  });

  it('reads the dispatch confirmation window and the sweep interval, naming a bad value', () => {
    expect(parseDispatcherConfig({ ...base, DISPATCH_CONFIRM_SECONDS: '4', RECONCILE_SECONDS: '0' })).toMatchObject({ confirmSeconds: 4, reconcileSeconds: 0 });
    expect(configError(() => parseDispatcherConfig({ ...base, DISPATCH_CONFIRM_SECONDS: '0' })).message).toBe(
      'DISPATCH_CONFIRM_SECONDS="0" is invalid: must be a whole number of seconds from 1 to 300 (wait for a worker to take a dispatch)',
    );
    expect(configError(() => parseDispatcherConfig({ ...base, RECONCILE_SECONDS: '1.5' })).variable).toBe('RECONCILE_SECONDS');
  });

  it('reads every documented variable', () => {
    const d = parseDispatcherConfig({
      ...base,
      AGENT_NAME: 'support-agent',
      FLEET_CAPACITY: '0',
      CALL_MAX_ATTEMPTS: '5',
      CALL_MAX_WAIT_SECONDS: '30',
      ALERT_WEBHOOK_URL: 'https://hooks.example.com/x',
      METRICS_NAMESPACE: 'Voice/Prod',
      QUEUE_PREFIX: '{calls}',
    });
    expect(d).toMatchObject({ agentName: 'support-agent', fleetCapacity: 0, calls: { maxAttempts: 5, maxWaitSeconds: 30 }, alertWebhookUrl: 'https://hooks.example.com/x' });
    expect(d.metrics.namespace).toBe('Voice/Prod');
    expect(d.redis.prefix).toBe('{calls}');
  });

  it('treats an empty value as unset', () => {
    expect(parseDispatcherConfig({ ...base, FLEET_CAPACITY: '' }).fleetCapacity).toBeUndefined();
    expect(configError(() => parseIntakeConfig({ ...base, REDIS_URL: ' ' })).variable).toBe('REDIS_URL');
  });

  it('names the variable, and the value unless it is a secret', () => {
    expect(configError(() => parseDispatcherConfig({ ...base, CALL_MAX_ATTEMPTS: '0' })).message).toBe(
      'CALL_MAX_ATTEMPTS="0" is invalid: must be a whole number of dispatch attempts from 1 to 100',
    );
    expect(configError(() => parseDispatcherConfig({ ...base, INTAKE_PORT: '8080', LIVEKIT_URL: 'livekit:7880' })).variable).toBe('LIVEKIT_URL');
    const secret = configError(() => parseIntakeConfig({ ...base, REDIS_URL: 'mysql://root:pw@db' }));
    expect(secret.variable).toBe('REDIS_URL');
    expect(secret.message).not.toContain('pw');
    expect(configError(() => parseIntakeConfig({ ...base, QUEUE_PREFIX: 'voice' })).message).toContain('hash tag');
    expect(configError(() => parseQueueCommandConfig({})).variable).toBe('REDIS_URL');
  });
});

describe('call ids', () => {
  it('derives a stable, BullMQ-safe id from any room name', () => {
    expect(callIdForRoom('call-_+15551234567_xyz')).toBe('room-call-_%2B15551234567_xyz');
    expect(callIdForRoom('a:b')).toBe('room-a%3Ab');
    expect(callIdForRoom('12345')).toBe('room-12345');
    for (const room of ['a:b', 'x'.repeat(256), 'room with spaces', 'ünï/cödé', '12345']) {
      const id = callIdForRoom(room);
      expect(isValidCallId(id), room).toBe(true);
      expect(id).not.toContain(':');
      expect(callIdForRoom(room)).toBe(id);
    }
    expect(callIdForRoom('x'.repeat(256))).not.toBe(callIdForRoom(`${'x'.repeat(255)}y`));
  });

  it('accepts caller ids BullMQ can use and refuses the rest', () => {
    expect(isValidCallId('crm-42')).toBe(true);
    expect(isValidCallId('42')).toBe(false); // integer ids are BullMQ's own
    expect(isValidCallId('a:b')).toBe(false);
    expect(isValidCallId('')).toBe(false);
    expect(isValidCallId('x'.repeat(201))).toBe(false);
  });
});

describe('webhook classification', () => {
  const sip = { kind: PARTICIPANT_KIND_SIP, identity: 'sip_+1555' };
  const room = { name: 'r1', sid: 'RM_abc123' };
  it('a SIP participant joining is a call for its room session', () => {
    expect(classifyWebhook({ event: 'participant_joined', room, participant: sip })).toEqual({ kind: 'call', room: 'r1', sid: 'RM_abc123', participantIdentity: 'sip_+1555' });
  });
  it('room_finished finishes the room session', () => {
    expect(classifyWebhook({ event: 'room_finished', room })).toEqual({ kind: 'finish', room: 'r1', sid: 'RM_abc123' });
  });
  it('ignores other participants, other events, and events without a room or its sid', () => {
    expect(classifyWebhook({ event: 'participant_joined', room, participant: { kind: 4, identity: 'agent' } }).kind).toBe('ignore');
    expect(classifyWebhook({ event: 'participant_left', room, participant: sip }).kind).toBe('ignore');
    expect(classifyWebhook({ event: 'participant_joined', participant: sip }).kind).toBe('ignore');
    expect(classifyWebhook({ event: 'participant_joined', room: { name: 'r1', sid: '' }, participant: sip })).toEqual({ kind: 'ignore', reason: 'no usable room sid' });
    expect(classifyWebhook({ event: 'room_finished', room: { name: 'r1', sid: 'RM_a:b' } }).kind).toBe('ignore');
    expect(classifyWebhook({ event: '' }).kind).toBe('ignore');
  });
  it('gives each session of a reused room name its own call id', () => {
    expect(callIdForSession('RM_aaa')).not.toBe(callIdForSession('RM_bbb'));
    expect(isValidCallId(callIdForSession('RM_5xYz09'))).toBe(true);
    expect(callIdForSession('RM_5xYz09')).not.toBe(callIdForRoom('RM_5xYz09'));
  });
});

describe('LiveKit answers, read', () => {
  const dispatch = (over: Partial<RoomDispatch>): RoomDispatch => ({ id: 'AD_1', agentName: 'voice-agent', jobCount: 0, createdAtMs: 0, ...over });
  const participant = (over: Partial<RoomParticipant>): RoomParticipant => ({ identity: 'p', kind: PARTICIPANT_KIND_SIP, joinedAtMs: 0, ...over });

  it('our agent is in the room only with a job or an agent participant; a dispatch without a job does not count', () => {
    expect(agentInRoom('voice-agent', [dispatch({})], [])).toBeUndefined();
    expect(agentInRoom('voice-agent', [dispatch({ jobCount: 1, jobRoomSid: 'RM_1' })], [])).toEqual({ dispatchId: 'AD_1', roomSid: 'RM_1' });
    expect(agentInRoom('voice-agent', [dispatch({ agentName: 'other', jobCount: 1 })], [])).toBeUndefined();
    expect(agentInRoom('voice-agent', [], [participant({ kind: PARTICIPANT_KIND_AGENT, identity: 'agent-AJ_1', agentName: 'voice-agent' })])).toEqual({ dispatchId: 'participant:agent-AJ_1' });
    expect(agentInRoom('voice-agent', [], [participant({ kind: PARTICIPANT_KIND_AGENT, identity: 'x', agentName: 'other' })])).toBeUndefined();
    expect(joblessDispatches('voice-agent', [dispatch({}), dispatch({ id: 'AD_2', jobCount: 1 }), dispatch({ id: 'AD_3', agentName: '' })])).toEqual(['AD_1']);
  });

  it('the sweep: callers without an agent, live dispatches, calls whose room is gone', () => {
    const rooms = [
      { name: 'a', sid: 'RM_a' },
      { name: 'b', sid: 'RM_b' },
      { name: 'c', sid: 'RM_c' },
    ];
    const participants = new Map([
      ['a', [participant({ identity: 'caller-a', joinedAtMs: 1_000 })]],
      ['b', [participant({ identity: 'caller-b', joinedAtMs: 1_000 }), participant({ kind: PARTICIPANT_KIND_AGENT, identity: 'agent-b' })]],
      ['c', [participant({ identity: 'caller-c', joinedAtMs: 9_500 })]], // joined just now: its webhook may be on the way
    ]);
    expect(callersWithoutAgent(rooms, participants, 10_000, 1_000)).toEqual([{ room: 'a', sid: 'RM_a', participantIdentity: 'caller-a' }]);

    expect(hasLiveDispatch([dispatch({ jobCount: 1 })], 'voice-agent', 60_000, 10_000)).toBe(true);
    expect(hasLiveDispatch([dispatch({ createdAtMs: 55_000 })], 'voice-agent', 60_000, 10_000)).toBe(true); // its job may be on the way
    expect(hasLiveDispatch([dispatch({ createdAtMs: 1_000 })], 'voice-agent', 60_000, 10_000)).toBe(false); // never got one
    expect(hasLiveDispatch([dispatch({ agentName: '', jobCount: 0, createdAtMs: 59_000 })], 'voice-agent', 60_000, 10_000)).toBe(false);

    const calls: ActiveCall[] = [
      { callId: 'live', room: 'a', sid: 'RM_a', state: 'dispatched', dispatchedAtMs: 1 },
      { callId: 'gone', room: 'z', sid: 'RM_z', state: 'dispatched', dispatchedAtMs: 1 },
      { callId: 'next-session', room: 'b', sid: 'RM_old', state: 'dispatched', dispatchedAtMs: 1 },
      { callId: 'api-unbound', room: 'c', state: 'dispatched', dispatchedAtMs: 1 },
      { callId: 'too-new', room: 'y', sid: 'RM_y', state: 'dispatched', dispatchedAtMs: 5_000 },
      { callId: 'not-yet', room: 'x', state: 'dispatching' },
    ];
    expect(callsWithRoomGone(calls, rooms, 4_000)).toEqual(['gone', 'next-session']);
  });
});

describe('worker capacity', () => {
  it('load is the busier of CPU and sessions', () => {
    expect(workerLoad(0.2, 5, 10)).toBe(0.5);
    expect(workerLoad(0.9, 1, 10)).toBe(0.9);
    expect(workerLoad(0, 30, 25)).toBe(1);
  });

  it('offers the sessions LiveKit will route to it, and 0 while it would route none', () => {
    const base = { connected: true, draining: false, load: 0.1, loadThreshold: 0.7, maxSessions: 25 };
    expect(sessionsAtThreshold(25, 0.7)).toBe(18); // 17/25 = 0.68 < 0.7: LiveKit routes an 18th
    expect(sessionsAtThreshold(10, 0.7)).toBe(7); // 0.7 x 10 is 7.000000000000001 in floating point
    expect(sessionsAtThreshold(4, 1)).toBe(4);
    expect(offeredSessions(base)).toBe(18);
    expect(offeredSessions({ ...base, load: 0.7 })).toBe(0);
    expect(offeredSessions({ ...base, draining: true })).toBe(0);
    expect(offeredSessions({ ...base, connected: false })).toBe(0);
  });

  it('counts the CPUs of a cgroup quota, not the host', () => {
    expect(parseCpuMax('max 100000')).toBeUndefined();
    expect(parseCpuMax('200000 100000\n')).toBe(2);
    expect(parseCpuMax('50000 100000')).toBe(0.5);
    expect(cfsQuotaCpus(-1, 100_000)).toBeUndefined();
    expect(cfsQuotaCpus(150_000, 100_000)).toBe(1.5);
    expect(effectiveCpus(16, 2)).toBe(2);
    expect(effectiveCpus(16, undefined)).toBe(16);
    const files = (entries: Record<string, string>) => ({ read: (path: string) => entries[path] });
    expect(cgroupQuotaCpus(files({ '/sys/fs/cgroup/cpu.max': '400000 100000' }))).toBe(4);
    expect(cgroupQuotaCpus(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '100000\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' }))).toBe(1);
    expect(cgroupQuotaCpus(files({}))).toBeUndefined();
    // 25 sessions per 4 usable CPUs: a 2-CPU quota on a 16-CPU host plans 12, not 100.
    expect(defaultMaxSessions(effectiveCpus(16, 2))).toBe(12);
    expect(defaultMaxSessions(0.5)).toBe(3);
  });
});

describe('CloudWatch EMF records', () => {
  it('carry namespace, the Stack dimension, units, and values in CloudWatch units', () => {
    const [record, ...rest] = buildEmfRecords({
      namespace: 'VoiceAgent',
      stack: 'mid',
      timestampMs: 1_700_000_000_000,
      values: [
        { metric: METRICS.queueWaitingCalls, value: 12 },
        { metric: METRICS.queueOldestWait, value: 3.5 },
        { metric: METRICS.dispatchLatency, value: [0.012, 0.5] },
        { metric: METRICS.queueWait, value: [] },
      ],
    });
    expect(rest).toEqual([]);
    expect(record).toEqual({
      _aws: {
        Timestamp: 1_700_000_000_000,
        CloudWatchMetrics: [
          {
            Namespace: 'VoiceAgent',
            Dimensions: [['Stack']],
            Metrics: [
              { Name: 'QueueWaitingCalls', Unit: 'Count' },
              { Name: 'QueueOldestWaitSeconds', Unit: 'Seconds' },
              { Name: 'DispatchLatency', Unit: 'Milliseconds' },
            ],
          },
        ],
      },
      Stack: 'mid',
      QueueWaitingCalls: 12,
      QueueOldestWaitSeconds: 3.5,
      DispatchLatency: [12, 500],
    });
  });

  it('split sample arrays over the 100-value limit across records', () => {
    const samples = Array.from({ length: 250 }, () => 0.01);
    const records = buildEmfRecords({ namespace: 'N', stack: 's', timestampMs: 0, values: [{ metric: METRICS.queueWaitingCalls, value: 1 }, { metric: METRICS.dispatchLatency, value: samples }] });
    expect(records).toHaveLength(3);
    expect(records.map((r) => (r.DispatchLatency as number[]).length)).toEqual([EMF_MAX_VALUES, EMF_MAX_VALUES, 50]);
    expect(records.filter((r) => 'QueueWaitingCalls' in r)).toHaveLength(1);
  });
});

describe('argv', () => {
  it('parses roles and queue commands', () => {
    expect(parseArgs(['intake'])).toEqual({ kind: 'role', role: 'intake' });
    expect(parseArgs(['all'])).toEqual({ kind: 'role', role: 'all' });
    expect(parseArgs(['queue', 'stats', '--json'])).toEqual({ kind: 'queue-stats', json: true });
    expect(parseArgs(['queue', 'dead-letters'])).toEqual({ kind: 'queue-dead-letters', json: false });
    expect(parseArgs(['queue', 'retry', 'room-abc'])).toEqual({ kind: 'queue-retry', target: { callId: 'room-abc' }, json: false });
    expect(parseArgs(['queue', 'retry', '--all', '--json'])).toEqual({ kind: 'queue-retry', target: { all: true }, json: true });
    expect(parseArgs(['--help'])).toEqual({ kind: 'help' });
  });

  it.each([
    [['dispatcher', '--json'], '--json'],
    [['queue', 'retry', 'a', '--all'], '--all'],
    [['queue', 'stats', '--all'], '--all'],
    [['queue', 'purge'], '"purge"'],
    [[], 'missing command'],
    [['intake', '--port', '1'], '--port'],
  ])('refuses %j naming %s', (argv, named) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(named);
  });
});
