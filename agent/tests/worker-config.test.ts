import { describe, expect, it } from 'vitest';
import { parseDispatcherConfig } from '../src/config.js';
import { parseAgentWorkerConfig } from '../src/worker/config.js';

const base = {
  LIVEKIT_URL: 'ws://127.0.0.1:7880',
  LIVEKIT_API_KEY: 'APIkey',
  LIVEKIT_API_SECRET: 'secret-secret-secret',
  OPENAI_API_KEY: 'sk-test',
  DEEPGRAM_API_KEY: 'dg-test',
  CARTESIA_API_KEY: 'ca-test',
  REDIS_URL: 'redis://127.0.0.1:6379',
};

describe('agent worker config', () => {
  it('reads the variables it shares with the queue roles by the same rules (heartbeats land where dispatchers look)', () => {
    const worker = parseAgentWorkerConfig({ ...base, QUEUE_PREFIX: '{calls-a}', AGENT_NAME: 'support' });
    const dispatcher = parseDispatcherConfig({ ...base, QUEUE_PREFIX: '{calls-a}', AGENT_NAME: 'support' });
    expect(worker.redis?.prefix).toBe(dispatcher.redis.prefix);
    expect(worker.agentName).toBe('support');
  });

  it.each([
    ['QUEUE_PREFIX', 'voice-queue', /QUEUE_PREFIX="voice-queue" is invalid: must be a Redis hash tag/],
    ['METRICS_NAMESPACE', 'bad namespace!', /METRICS_NAMESPACE="bad namespace!" is invalid/],
    ['STACK_NAME', 'no spaces please', /STACK_NAME="no spaces please" is invalid/],
    ['REDIS_URL', 'http://127.0.0.1:6379', /^REDIS_URL is invalid: must be a redis:\/\/ or rediss:\/\/ URL/],
  ])('refuses %s=%j as the queue roles do', (name, value, message) => {
    expect(() => parseAgentWorkerConfig({ ...base, [name]: value })).toThrow(message);
    if (name !== 'REDIS_URL') expect(() => parseDispatcherConfig({ ...base, [name]: value })).toThrow(message);
  });
});

describe('escalation trunk', () => {
  it('ESCALATION_OUTBOUND_TRUNK (set by the deploy) names the trunk the transfer dials out on; unset, none', () => {
    expect(parseAgentWorkerConfig({ ...base, ESCALATION_OUTBOUND_TRUNK: 'voice-agent-mid-outbound' }).outboundTrunk).toBe('voice-agent-mid-outbound');
    expect(parseAgentWorkerConfig(base).outboundTrunk).toBeUndefined();
  });

  it('refuses a name that cannot be a trunk name, naming the variable', () => {
    expect(() => parseAgentWorkerConfig({ ...base, ESCALATION_OUTBOUND_TRUNK: 'two words' })).toThrow(/^ESCALATION_OUTBOUND_TRUNK="two words" is invalid/);
  });
});
