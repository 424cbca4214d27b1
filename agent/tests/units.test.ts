/** Pure modules: configuration, call ids, webhook classification, EMF records, argv parsing. */
import { METRICS } from '@voice-agent-infra/common';
import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../src/cli/args.js';
import { ConfigError, parseDispatcherConfig, parseIntakeConfig, parseQueueCommandConfig } from '../src/config.js';
import { classifyWebhook, PARTICIPANT_KIND_SIP } from '../src/queue/events.js';
import { callIdForRoom, isValidCallId } from '../src/queue/keys.js';
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
  it('a SIP participant joining is a call for its room', () => {
    expect(classifyWebhook({ event: 'participant_joined', room: { name: 'r1' }, participant: sip })).toEqual({ kind: 'call', room: 'r1', participantIdentity: 'sip_+1555' });
  });
  it('room_finished finishes the room', () => {
    expect(classifyWebhook({ event: 'room_finished', room: { name: 'r1' } })).toEqual({ kind: 'finish', room: 'r1' });
  });
  it('ignores other participants, other events and events without a room', () => {
    expect(classifyWebhook({ event: 'participant_joined', room: { name: 'r1' }, participant: { kind: 4, identity: 'agent' } }).kind).toBe('ignore');
    expect(classifyWebhook({ event: 'participant_left', room: { name: 'r1' }, participant: sip }).kind).toBe('ignore');
    expect(classifyWebhook({ event: 'participant_joined', participant: sip }).kind).toBe('ignore');
    expect(classifyWebhook({ event: '' }).kind).toBe('ignore');
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
