/**
 * The recovery sweep: every RECONCILE_SECONDS one dispatcher (the holder of a Redis lock for the
 * round) lists LiveKit's rooms and participants and
 * - enqueues a caller who waits in a room with no agent, no live dispatch of ours and no call on
 *   record (its participant_joined was lost), through the intake's idempotent path, source `sweep`;
 * - finishes a dispatched call whose room session is gone (its room_finished was lost), freeing
 *   its capacity.
 * Decisions in sweep-plan.ts; this module asks and acts.
 */
import type { CallPolicy } from '../config.js';
import { errorMessage, type Logger } from '../log.js';
import type { QueueMetrics } from '../telemetry/metrics.js';
import type { CallStore } from './call-store.js';
import { enqueueSessionCall } from './enqueue.js';
import type { CallQueues } from './jobs.js';
import { callIdForSession } from './keys.js';
import type { LiveKitApi, RoomParticipant } from './livekit.js';
import { callersWithoutAgent, callsWithRoomGone, hasLiveDispatch, type ActiveCall } from './sweep-plan.js';

export interface SweepContext {
  api: LiveKitApi;
  store: CallStore;
  queues: CallQueues;
  policy: CallPolicy;
  agentName: string;
  /** A dispatch younger than this may still get its job (DISPATCH_CONFIRM_SECONDS). */
  confirmMs: number;
  /** A caller who joined less than this ago may still have a webhook on the way. */
  graceMs: number;
  metrics?: QueueMetrics;
  log: Logger;
}

export interface SweepResult {
  rooms: number;
  recovered: string[];
  freed: string[];
}

/** At most this many LiveKit requests in flight per sweep. */
const CONCURRENCY = 8;

async function mapLimited<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

async function activeCalls(store: CallStore): Promise<ActiveCall[]> {
  const ids = await store.redis.zrange(store.keys.active, 0, -1);
  if (ids.length === 0) return [];
  const pipeline = store.redis.pipeline();
  for (const id of ids) pipeline.hmget(store.keys.call(id), 'room', 'sid', 'state', 'dispatchedAtMs');
  const rows = (await pipeline.exec()) ?? [];
  return ids.map((callId, i) => {
    const [room, sid, state, dispatchedAtMs] = (rows[i]?.[1] as Array<string | null> | undefined) ?? [];
    const call: ActiveCall = { callId, room: room ?? '', state: state ?? '' };
    if (sid) call.sid = sid;
    if (dispatchedAtMs) call.dispatchedAtMs = Number(dispatchedAtMs);
    return call;
  });
}

/** Sessions with any call on record (a webhook or sweep call, or an API call bound to the sid). */
async function knownSessions(store: CallStore, sids: readonly string[]): Promise<Set<string>> {
  if (sids.length === 0) return new Set();
  const pipeline = store.redis.pipeline();
  for (const sid of sids) pipeline.exists(store.keys.session(sid), store.keys.call(callIdForSession(sid)));
  const rows = (await pipeline.exec()) ?? [];
  return new Set(sids.filter((_, i) => Number(rows[i]?.[1] ?? 1) > 0));
}

export async function runSweep(ctx: SweepContext): Promise<SweepResult> {
  // Redis time, the clock dispatchedAtMs was written with: host clocks may disagree.
  const [seconds, micros] = await ctx.store.redis.time();
  const listedAtMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const rooms = await ctx.api.listRooms();
  const participants = new Map<string, RoomParticipant[]>();
  await mapLimited(rooms, async (room) => participants.set(room.name, await ctx.api.listParticipants(room.name)));

  const recovered: string[] = [];
  const waiting = callersWithoutAgent(rooms, participants, Date.now(), ctx.graceMs);
  const known = await knownSessions(ctx.store, waiting.map((w) => w.sid));
  await mapLimited(
    waiting.filter((w) => !known.has(w.sid)),
    async (caller) => {
      try {
        // The room exists (just listed): ListDispatch is answered.
        if (hasLiveDispatch(await ctx.api.listDispatches(caller.room), ctx.agentName, Date.now(), ctx.confirmMs)) return;
        const result = await enqueueSessionCall(ctx.store, ctx.queues, ctx.policy, { ...caller, source: 'sweep' });
        if (!result.isNew) return; // the webhook arrived meanwhile
        recovered.push(result.callId);
        ctx.metrics?.callReceived('sweep');
        ctx.metrics?.callRecovered('missed-join');
        ctx.log.warn('call recovered by the sweep: its participant_joined webhook never arrived', { callId: result.callId, room: caller.room, sid: caller.sid });
      } catch (err) {
        ctx.log.warn('sweep could not check a room', { room: caller.room, error: errorMessage(err) });
      }
    },
  );

  const freed: string[] = [];
  for (const callId of callsWithRoomGone(await activeCalls(ctx.store), rooms, listedAtMs)) {
    if ((await ctx.store.finishGone(callId)) !== 'dispatched') continue;
    freed.push(callId);
    ctx.metrics?.callRecovered('room-gone');
    ctx.log.warn('call finished by the sweep: its room is gone and room_finished never arrived', { callId });
  }
  return { rooms: rooms.length, recovered, freed };
}
