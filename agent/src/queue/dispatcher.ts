/**
 * `voice-agent dispatcher`: takes calls off the queue in arrival order, admits each one only while
 * the fleet has capacity, dispatches an agent to its room, and confirms that a worker took it.
 *
 * LiveKit's CreateDispatch answers before any worker has the job, and with no worker available
 * the dispatch stays without one (reference livekit.md, "Semantics"). So a call counts as
 * dispatched only when the dispatch has a job or an agent is in the room, within
 * DISPATCH_CONFIRM_SECONDS; otherwise the dispatch is deleted, the capacity given back and the
 * call retried, and after the last attempt it is a dead letter (`no-agent`).
 *
 * A call's BullMQ job lives from intake until its agent is dispatched. Capacity is held in Redis
 * (the `active` set) from admission until room_finished, independent of any process, so a
 * dispatcher can die or drain without losing or leaking capacity:
 * - killed while holding calls for admission: BullMQ's stalled check returns the jobs to the
 *   queue, and their line entries expire;
 * - killed mid-dispatch: another dispatcher re-runs the job, waits out the dispatch lease, and
 *   asks LiveKit whether the room already has our agent before dispatching (never two agents);
 * - SIGTERM: stop fetching, hand held calls back to the head of the queue, finish dispatches in
 *   flight, close.
 */
import { createServer, type Server } from 'node:http';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { DispatcherConfig } from '../config.js';
import { createLogger, errorMessage, type Logger } from '../log.js';
import { checkRedisDurability, createWorkerConnection, quitQuietly, redactRedisUrl } from '../redis.js';
import { QueueMetrics } from '../telemetry/metrics.js';
import { AdmissionGate } from './admission.js';
import { CallStore } from './call-store.js';
import { deadLetterCall, type DeadLetterContext } from './dead-letters.js';
import { openCallQueues, type CallJobData, type DeadLetterReason } from './jobs.js';
import { CALLS_QUEUE } from './keys.js';
import { agentInRoom, createLiveKitApi, joblessDispatches, type AgentInRoom, type LiveKitApi } from './livekit.js';
import { readQueueStats } from './stats.js';
import { runSweep } from './sweep.js';

export interface Dispatcher {
  /** Drains: stops taking calls, hands back the ones waiting for capacity, finishes dispatches in flight. */
  close(): Promise<void>;
  /** Port of the /metrics server when METRICS_PORT is set. */
  readonly metricsPort?: number;
}

export interface DispatcherDeps {
  log?: Logger;
  /** Shared with the intake in `voice-agent all`. */
  metrics?: QueueMetrics;
  /** Replaces the LiveKit API client (default: livekit-server-sdk against LIVEKIT_URL). */
  dispatchApi?: LiveKitApi;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** No worker took the dispatch within DISPATCH_CONFIRM_SECONDS. */
class NoAgentError extends Error {}

/** Confirmation polls: soon after CreateDispatch (a job is usually assigned in milliseconds), then backing off. */
const CONFIRM_POLL_MS = [20, 30, 50, 100, 200, 400, 800];
const CONFIRM_POLL_MAX_MS = 1000;
/** A ListDispatch slower than this may be for a room that has ended. */
const QUICK_ANSWER_MS = 250;

/**
 * Polls LiveKit until the dispatch has a job or our agent is in the room ('agent'), the room
 * session is gone ('gone': the caller hung up), or the deadline passes (undefined).
 */
async function waitForAgent(api: LiveKitApi, room: string, roomSid: string | undefined, agentName: string, dispatchId: string, deadlineMs: number): Promise<AgentInRoom | 'gone' | undefined> {
  for (let i = 0; ; i++) {
    const left = deadlineMs - Date.now();
    if (left <= 0) return undefined;
    await sleep(Math.min(CONFIRM_POLL_MS[i] ?? CONFIRM_POLL_MAX_MS, left));
    try {
      const listing = api.listDispatches(room).then(
        (list) => list,
        () => undefined,
      );
      let dispatches = await Promise.race([listing, sleep(QUICK_ANSWER_MS).then(() => 'slow' as const)]);
      let sid = roomSid;
      if (dispatches === 'slow' || dispatches === undefined) {
        // ListDispatch of a room that has ended fails only after seconds: ask the store, which
        // answers at once, and do not wait for a room that is gone.
        const session = await api.findRoom(room);
        if (!session || (roomSid !== undefined && session.sid !== roomSid)) return 'gone';
        sid = session.sid;
        dispatches = await listing;
        if (dispatches === undefined) continue;
      }
      const ours = dispatches.find((d) => d.id === dispatchId);
      if (ours && ours.jobCount > 0) return { dispatchId, roomSid: ours.jobRoomSid ?? sid };
      // LiveKit records the job before the agent can join (the join token comes with the
      // assignment), so the participant list is a fallback, asked now and then.
      const last = deadlineMs - Date.now() <= CONFIRM_POLL_MAX_MS;
      if ((i % 4 === 3 || last) && agentInRoom(agentName, [], await api.listParticipants(room))) {
        return { dispatchId, roomSid: sid ?? (await api.findRoom(room))?.sid };
      }
    } catch {
      // LiveKit unreachable for a moment: ask again at the next poll.
    }
  }
}

export async function startDispatcher(config: DispatcherConfig, deps: DispatcherDeps = {}): Promise<Dispatcher> {
  const log = deps.log ?? createLogger({ base: { role: 'dispatcher' } });
  const metrics = deps.metrics ?? new QueueMetrics();
  const api = deps.dispatchApi ?? createLiveKitApi(config.livekit);
  const redis = createWorkerConnection(config.redis.url);
  redis.on('error', () => {}); // reconnects on its own; failures surface on commands
  const subscriber = redis.duplicate();
  subscriber.on('error', () => {});
  const store = new CallStore(redis, config.redis.prefix);
  const queues = openCallQueues(redis, config.redis.prefix);
  metrics.setStatsSource(() => readQueueStats(store, queues, config.fleetCapacity));
  const gate = new AdmissionGate({ store, fixedCapacity: config.fleetCapacity, pollMs: config.admissionPollMs, log });
  const deadLetters: DeadLetterContext = { store, queues, log, metrics, alertWebhookUrl: config.alertWebhookUrl };
  // Long enough to cover the LiveKit lookups, CreateDispatch, the confirmation and a DeleteDispatch
  // at their timeouts: a second dispatcher never calls LiveKit for the room while the first one still can.
  const confirmMs = config.confirmSeconds * 1000;
  const leaseMs = (config.livekit.requestTimeoutSeconds * 6 + config.confirmSeconds + 2) * 1000;
  let draining = false;

  subscriber.on('message', () => gate.wake());
  await subscriber.subscribe(store.keys.freedChannel);
  void checkRedisDurability(redis, log);

  const dispatchMetadata = (call: CallJobData) =>
    JSON.stringify({
      callId: call.callId,
      room: call.room,
      roomSid: call.roomSid,
      source: call.source,
      useCase: call.useCase,
      metadata: call.metadata,
      participantIdentity: call.participantIdentity,
    });

  async function deadLetterOrFinish(job: Job<CallJobData>, reason: DeadLetterReason, attempts: number, error?: string): Promise<string> {
    const dead = await deadLetterCall(deadLetters, job.data, reason, attempts, error);
    if (!dead) return 'finished';
    throw new UnrecoverableError(`dead-lettered: ${reason}${error ? `: ${error}` : ''}`);
  }

  async function dispatchAdmitted(job: Job<CallJobData>, token: string, admittedAtMs: number | undefined): Promise<string> {
    const call = job.data;
    let lease = await store.beginDispatch(call.callId, token, leaseMs);
    while (lease.kind === 'busy') {
      // Another run of this job (a dispatcher that died or stalled) may still be talking to LiveKit.
      await sleep(Math.min(lease.msLeft + 50, 2000));
      lease = await store.beginDispatch(call.callId, token, leaseMs);
    }
    if (lease.kind === 'done') return 'dispatched';
    if (lease.kind === 'gone') return lease.state || 'gone'; // e.g. the room finished meanwhile

    let agent: AgentInRoom;
    let reused = false;
    try {
      // Ask LiveKit first, every time: after a crash, a 500 that did dispatch, or a Redis write
      // lost in the AOF window, the room may already have our agent. ListRooms is answered for
      // any room; ListDispatch for a room that does not exist (a POST /v1/calls room not created
      // yet) fails only after seconds, so it is asked only of a room known to exist. A webhook
      // call's room existed a moment ago: its questions go at once. ListParticipants only after
      // an earlier attempt: an agent without a job in a dispatch of ours can only follow one.
      const earlier = lease.attempt > 1 || job.attemptsStarted > 1;
      const inspecting = call.roomSid ? inspectRoom(call.room, earlier) : undefined;
      inspecting?.catch(() => {}); // not awaited when the session turns out to be over
      const session = await api.findRoom(call.room);
      if (call.roomSid && session?.sid !== call.roomSid) {
        // The caller's room session is over (room_finished may be lost or on its way): no agent.
        await store.finish(call.room, call.roomSid);
        log.info('room session ended before dispatch', { callId: call.callId, room: call.room, sid: call.roomSid });
        return 'finished';
      }
      const existing = session ? await (inspecting ?? inspectRoom(call.room, earlier)) : undefined;
      if (existing?.agent) {
        agent = { ...existing.agent, roomSid: existing.agent.roomSid ?? session?.sid };
        reused = true;
      } else {
        for (const id of existing?.jobless ?? []) await api.deleteDispatch(call.room, id);
        const dispatchId = await api.createDispatch(call.room, config.agentName, dispatchMetadata(call));
        const answeredAt = performance.now();
        if (admittedAtMs !== undefined) {
          metrics.dispatched({
            waitSeconds: Math.max(0, Date.now() / 1000 - call.receivedAtUs / 1e6),
            latencySeconds: (answeredAt - admittedAtMs) / 1000,
          });
        }
        const confirmed = await waitForAgent(api, call.room, call.roomSid, config.agentName, dispatchId, Date.now() + confirmMs);
        if (confirmed === 'gone') {
          // The caller hung up while the dispatch was on its way: nothing left to serve.
          if (call.roomSid) {
            await store.finish(call.room, call.roomSid);
            log.info('room session ended before an agent joined', { callId: call.callId, room: call.room, sid: call.roomSid });
            return 'finished';
          }
          throw new NoAgentError(`room ${call.room} ended before an agent took the call`);
        }
        if (!confirmed) {
          // Nobody will take it later (OSS LiveKit restarts no job): remove it, so a worker that
          // frees up now cannot join a call we are about to dispatch again.
          await api.deleteDispatch(call.room, dispatchId).catch(() => {});
          throw new NoAgentError(`no agent took dispatch ${dispatchId} within ${config.confirmSeconds} s`);
        }
        metrics.agentJoined((performance.now() - answeredAt) / 1000);
        agent = confirmed;
      }
    } catch (err) {
      await store.abortDispatch(call.callId, token).catch(() => {});
      const attempts = job.attemptsMade + 1;
      const error = errorMessage(err);
      const reason: DeadLetterReason = err instanceof NoAgentError ? 'no-agent' : 'dispatch-failed';
      if (attempts >= (job.opts.attempts ?? 1)) return deadLetterOrFinish(job, reason, attempts, error);
      log.warn('dispatch failed; will retry with backoff', { callId: call.callId, room: call.room, attempt: attempts, reason, error });
      throw err instanceof Error ? err : new Error(error);
    }
    const state = await store.markDispatched(call.callId, agent.dispatchId, agent.roomSid ?? '');
    log.info('call dispatched', { callId: call.callId, room: call.room, dispatchId: agent.dispatchId, sid: agent.roomSid, reused, state });
    return state;
  }

  /** Our agent in an existing room, and our dispatches there that no worker took. */
  async function inspectRoom(room: string, withParticipants: boolean): Promise<{ agent?: AgentInRoom; jobless: string[] }> {
    const [dispatches, participants] = await Promise.all([api.listDispatches(room), withParticipants ? api.listParticipants(room) : []]);
    const agent = agentInRoom(config.agentName, dispatches, participants);
    // Dispatches of ours without a job were left by a run that died (its lease, longer than the
    // confirmation window, has expired) or lost to the AOF window: no worker will take them now.
    return agent ? { agent, jobless: [] } : { jobless: joblessDispatches(config.agentName, dispatches) };
  }

  async function processCall(job: Job<CallJobData>, token?: string): Promise<string> {
    const call = job.data;
    const lockToken = token ?? `${job.id}:${job.attemptsStarted}`;
    const deadlineMs = call.receivedAtUs / 1000 + config.calls.maxWaitSeconds * 1000;
    const outcome = draining ? 'released' : await gate.request({ callId: call.callId, room: call.room, receivedAtUs: call.receivedAtUs }, deadlineMs);
    switch (outcome) {
      case 'released':
        // Back to the head of the queue for another dispatcher (or this one after a restart).
        await job.moveToWait(lockToken);
        throw new WaitingError();
      case 'finished':
      case 'duplicate':
      case 'expired':
        return outcome;
      case 'timeout':
        return deadLetterOrFinish(job, 'wait-timeout', job.attemptsMade);
      case 'dead': {
        // Dead-lettered by a run that died before failing the job: finish that work.
        const record = await store.callRecord(call.callId);
        return deadLetterOrFinish(job, (record.deadReason as DeadLetterReason | undefined) ?? 'dispatch-failed', job.attemptsMade);
      }
      case 'admitted':
        return dispatchAdmitted(job, lockToken, performance.now());
      case 'resume':
        return dispatchAdmitted(job, lockToken, undefined);
    }
  }

  const worker = new Worker<CallJobData, string>(CALLS_QUEUE, processCall, {
    connection: redis,
    prefix: config.redis.prefix,
    concurrency: config.concurrency,
    lockDuration: config.lockMs,
    stalledInterval: config.lockMs,
    // A job whose dispatcher dies is re-run; only a job that kills dispatchers repeatedly fails.
    maxStalledCount: 5,
    autorun: false,
  });
  let lastWorkerWarnMs = 0;
  worker.on('error', (err) => {
    if (Date.now() - lastWorkerWarnMs < 10_000) return;
    lastWorkerWarnMs = Date.now();
    log.warn('queue worker error', { error: errorMessage(err) });
  });
  worker.on('failed', (job, err) => {
    // Jobs BullMQ itself failed (stalled too often) never went through our dead-letter path.
    if (job && err.message.includes('stalled more than allowable limit')) {
      deadLetterCall(deadLetters, job.data, 'stalled', job.attemptsMade, err.message).catch((e: unknown) =>
        log.error('could not dead-letter a stalled call', { callId: job.data.callId, error: errorMessage(e) }),
      );
    }
  });
  void worker.run().catch((err: unknown) => log.error('queue worker stopped', { error: errorMessage(err) }));

  // Safety net: calls whose room_finished never came give their capacity back.
  const maxCallMs = config.maxCallSeconds * 1000;
  const reaper = setInterval(
    () => {
      store
        .reap(maxCallMs)
        .then((ids) => {
          for (const callId of ids) log.warn('call released after the maximum call duration without room_finished', { callId, maxCallSeconds: config.maxCallSeconds });
        })
        .catch(() => {});
    },
    Math.min(60_000, Math.max(1000, maxCallMs / 10)),
  );
  reaper.unref();

  // Recovery sweep: every RECONCILE_SECONDS, by whichever dispatcher takes the round's lock.
  const reconcileMs = config.reconcileSeconds * 1000;
  const sweepToken = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  let sweeping = false;
  let lastSweepWarnMs = 0;
  async function sweepRound(): Promise<void> {
    if (sweeping || draining) return;
    sweeping = true;
    try {
      if ((await redis.set(store.keys.sweepLock, sweepToken, 'PX', Math.max(500, reconcileMs - 250), 'NX')) !== 'OK') return;
      await runSweep({
        api,
        store,
        queues,
        policy: config.calls,
        agentName: config.agentName,
        confirmMs,
        graceMs: Math.min(10_000, reconcileMs),
        metrics,
        log,
      });
    } catch (err) {
      if (Date.now() - lastSweepWarnMs > 60_000) {
        lastSweepWarnMs = Date.now();
        log.warn('recovery sweep failed; next round retries', { error: errorMessage(err) });
      }
    } finally {
      sweeping = false;
    }
  }
  const sweeper = reconcileMs > 0 ? setInterval(() => void sweepRound(), reconcileMs) : undefined;
  sweeper?.unref();

  let server: Server | undefined;
  if (config.metricsPort !== undefined) {
    server = createServer((req, res) => {
      if (req.url === '/metrics') {
        metrics.registry
          .metrics()
          .then((body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body))
          .catch(() => res.writeHead(500).end());
      } else if (req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server!.listen(config.metricsPort, resolve));
  }
  const address = server?.address();
  const metricsPort = address && typeof address === 'object' ? address.port : undefined;

  log.info('dispatcher ready', {
    redis: redactRedisUrl(config.redis.url),
    agentName: config.agentName,
    capacity: config.fleetCapacity ?? 'agent heartbeats',
    concurrency: config.concurrency,
    confirmSeconds: config.confirmSeconds,
    reconcileSeconds: config.reconcileSeconds,
    metricsPort,
  });

  let closing: Promise<void> | undefined;
  return {
    metricsPort,
    close() {
      closing ??= (async () => {
        draining = true;
        await worker.pause(true); // stop fetching; in-flight jobs continue
        await gate.releaseAll();
        await worker.close();
        clearInterval(reaper);
        clearInterval(sweeper);
        while (sweeping) await sleep(50);
        await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
        await queues.close();
        await quitQuietly(subscriber);
        await quitQuietly(redis);
        log.info('dispatcher stopped');
      })();
      return closing;
    },
  };
}
