/**
 * The agent definition agents-js imports in each job process (ServerOptions.agent points here;
 * it must stay free of worker start-up code, which lives in ./index.ts).
 *
 * prewarm (once per process, before any call): configuration, Silero VAD, the phrase cache.
 * entry (once per call): the caller, the providers, the call context, the session with the router;
 * when the call ends, its record goes to the worker's main process.
 */
import { defineAgent, type JobContext, type JobProcess, voice, type VAD } from '@livekit/agents';
import * as silero from '@livekit/agents-plugin-silero';
import { ParticipantKind } from '@livekit/rtc-node';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { createLogger, errorMessage, type Logger } from '../log.js';
import { createProducerConnection, quitQuietly } from '../redis.js';
import { recordSinkFromEnv } from '../telemetry/record-sink.js';
import { DemoToolBackend, HttpToolBackend } from '../voice/backend.js';
import { createCallContext, startCall } from '../voice/call.js';
import type { CallContext, CallServices } from '../voice/call-context.js';
import { LogCallbackStore, RedisCallbackStore, SipHumanTransfer } from '../voice/human-handoff.js';
import { PhraseCache } from '../voice/phrase-cache.js';
import { buildVoiceProviders, llmForTier, ttsIdentity } from '../voice/providers.js';
import { parseAgentWorkerConfig, type AgentWorkerConfig } from './config.js';

interface Prewarmed {
  config: AgentWorkerConfig;
  vad: VAD;
  phraseCache: PhraseCache;
  log: Logger;
}

/** What the dispatcher puts in the dispatch metadata (agent/src/queue/dispatcher.ts). */
const dispatchSchema = z
  .object({
    callId: z.string().min(1).optional(),
    useCase: z.string().min(1).optional(),
    participantIdentity: z.string().min(1).optional(),
  })
  .loose();

export function readDispatchMetadata(metadata: string | undefined): z.infer<typeof dispatchSchema> {
  if (!metadata) return {};
  try {
    const parsed = dispatchSchema.safeParse(JSON.parse(metadata));
    return parsed.success ? parsed.data : {};
  } catch {
    return {}; // a dispatch from elsewhere (a token, the CLI) may carry any metadata
  }
}

/** The Twirp API lives at the same host as the signalling URL. */
function apiUrl(url: string): string {
  return url.replace(/^ws(s?):/, 'http$1:');
}

async function prewarm(proc: JobProcess): Promise<void> {
  const config = parseAgentWorkerConfig(process.env);
  const log = createLogger({ level: config.logLevel, base: { role: 'agent-job', pid: process.pid } });
  const [vad, phraseCache] = await Promise.all([
    silero.VAD.load(),
    PhraseCache.load(config.phraseCacheDir, ttsIdentity(config.providers.tts), (warning) => log.warn(warning)),
  ]);
  const prewarmed: Prewarmed = { config, vad, phraseCache, log };
  proc.userData.prewarmed = prewarmed;
}

function services(config: AgentWorkerConfig, redis: Redis | undefined, log: Logger): CallServices {
  return {
    backend: config.toolsBackend ? new HttpToolBackend(config.toolsBackend) : new DemoToolBackend(),
    ...(config.transferTo
      ? {
          transferTo: config.transferTo,
          humanTransfer: new SipHumanTransfer({
            url: apiUrl(config.livekit.url),
            apiKey: config.livekit.apiKey,
            apiSecret: config.livekit.apiSecret,
            ringingTimeoutSeconds: config.spec.escalation.ringingTimeoutSeconds,
            ...(config.outboundTrunk ? { outboundTrunk: config.outboundTrunk } : {}),
          }),
        }
      : {}),
    callbacks: redis ? new RedisCallbackStore(redis) : new LogCallbackStore(log),
  };
}

async function entry(ctx: JobContext): Promise<void> {
  const { config, vad, phraseCache, log: baseLog } = ctx.proc.userData.prewarmed as Prewarmed;
  const dispatch = readDispatchMetadata(ctx.job.metadata);
  const callId = dispatch.callId ?? ctx.job.id;
  const log = baseLog.child({ callId });

  await ctx.connect();
  const participant = await ctx.waitForParticipant(dispatch.participantIdentity);
  const providers = buildVoiceProviders(config.providers, vad);
  // Only callback tickets use Redis here; connect lazily and fail fast (the ticket falls back to the log).
  const redis = config.redis ? createProducerConnection(config.redis.url, { lazyConnect: true, commandTimeoutMs: 2000 }) : undefined;
  redis?.on('error', () => {});

  const call = createCallContext({
    callId,
    room: ctx.room.name ?? '',
    useCase: dispatch.useCase ?? config.spec.useCase,
    caller: { identity: participant.identity, sip: participant.kind === ParticipantKind.SIP },
    spec: config.spec,
    llmFor: (_agent, tier) => llmForTier(providers.llm, tier),
    phraseCache,
    services: services(config, redis, log),
    log,
    localLlmProvider: providers.localProvider,
  });
  const session = new voice.AgentSession<CallContext>({
    stt: providers.stt,
    tts: providers.tts,
    vad,
    llm: providers.llm.routine,
    userData: call,
    // No turn-detector model (it needs downloaded weights): end of turn from Silero VAD or the STT.
    turnHandling: { turnDetection: config.providers.turnDetection, interruption: { mode: 'vad' } },
  });
  const running = await startCall({
    call,
    session,
    cost: { providers: config.providers.choice, catalog: config.catalog, catalogModel: providers.catalogModel },
    room: ctx.room,
    // Deleting the room when the session ends hangs up the SIP leg and tells the queue (room_finished).
    inputOptions: { participantIdentity: participant.identity, deleteRoomOnClose: true },
  });
  log.info('call started', { room: call.room, sip: call.caller.sip, useCase: call.useCase });

  session.on(voice.AgentSessionEventTypes.Close, (ev) => ctx.shutdown(String(ev.reason)));
  const sink = recordSinkFromEnv(process.env, log);
  ctx.addShutdownCallback(async () => {
    try {
      await sink.send(running.finish());
    } catch (err) {
      log.error('call record lost', { error: errorMessage(err) });
    } finally {
      if (redis) await quitQuietly(redis);
    }
  });
}

export default defineAgent({ prewarm, entry });
