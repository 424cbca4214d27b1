/**
 * The `agent` role: a LiveKit agent worker (agents-js AgentServer, explicit dispatch by
 * AGENT_NAME) plus what queue mode and monitoring need around it:
 * - its load for LiveKit, max(CPU load, active jobs / AGENT_MAX_SESSIONS), and the capacity
 *   heartbeat the dispatchers admit calls against, kept in step with it (capacity.ts),
 * - the call-record ingest (job processes post their records here) feeding /metrics, the EMF line
 *   and the `calls:records` stream.
 * Calls run in job processes that import ./entry.js; configuration reaches them through the
 * environment they inherit.
 *
 * close() drains in order: withdraw the capacity (no new calls admitted against this worker), let
 * active calls finish (up to the drain timeout), close the worker, then telemetry and Redis.
 */
import { AgentServer, initializeLogger, ServerOptions } from '@livekit/agents';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Redis } from 'ioredis';
import type { Env } from '../config.js';
import { errorMessage, type Logger } from '../log.js';
import { createProducerConnection, quitQuietly, waitForReady } from '../redis.js';
import { CallMetrics, CallTelemetry } from '../telemetry/call-telemetry.js';
import { startMetricsServer, type MetricsServer } from '../telemetry/metrics-server.js';
import { RECORD_SINK_TOKEN_ENV, RECORD_SINK_URL_ENV, startRecordIngest, type RecordIngest } from '../telemetry/record-sink.js';
import { workerLoad } from './capacity.js';
import { CapacityReporter } from './capacity-reporter.js';
import type { AgentWorkerConfig } from './config.js';
import { CpuLoadMonitor } from './cpu.js';
import { skipEndOfTurnInferenceProcess } from './inference.js';

export { parseAgentWorkerConfig } from './config.js';

/** The job module agents-js forks: entry.js next to this file (entry.ts when run through tsx). */
export const AGENT_ENTRY = fileURLToPath(new URL(`./entry${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

/** How long start waits for LiveKit to accept the worker before going on without it. */
const REGISTER_WAIT_MS = 30_000;
/** How long close waits for the worker after the drain. */
const CLOSE_WAIT_MS = 15_000;

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  return settled;
}

export class WorkerStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerStartError';
  }
}

export interface AgentWorkerDeps {
  log: Logger;
  /**
   * The environment the job processes must see. They inherit process.env, so a configuration
   * given as an object (tests, `all`) is copied into it (existing values are kept).
   */
  env?: Env;
  /**
   * Register the call metrics here and serve no /metrics of our own (`all`: the intake's
   * /metrics serves one registry). Default: a registry of our own on AGENT_METRICS_PORT.
   */
  registry?: Registry;
  /** The worker died (e.g. LiveKit unreachable after all retries); default: exit 1. */
  onFatal?: (err: unknown) => void;
}

export interface AgentWorker {
  /** /metrics base URL when this worker serves one. */
  readonly metricsUrl?: string;
  close(): Promise<void>;
}

export async function startAgentWorker(config: AgentWorkerConfig, deps: AgentWorkerDeps): Promise<AgentWorker> {
  const log = deps.log.child({ role: 'agent' });
  if (deps.env && deps.env !== process.env) {
    for (const [name, value] of Object.entries(deps.env)) if (value !== undefined && process.env[name] === undefined) process.env[name] = value;
  }

  let redis: Redis | undefined;
  let reporter: CapacityReporter | undefined;
  let ingest: RecordIngest | undefined;
  let metricsServer: MetricsServer | undefined;
  const cleanup = async () => {
    await reporter?.stop().catch(() => {});
    await ingest?.close();
    await metricsServer?.close();
    if (redis) await quitQuietly(redis);
  };

  try {
    if (config.redis) {
      redis = createProducerConnection(config.redis.url, { commandTimeoutMs: 2000 });
      redis.on('error', () => {}); // reconnects on its own; failures surface per command
      await waitForReady(redis, 10_000).catch(() => {
        throw new WorkerStartError('Redis not reachable within 10 s (REDIS_URL): the capacity heartbeat needs it');
      });
    } else {
      log.warn('REDIS_URL is not set: no capacity heartbeat (queue mode cannot admit calls to this worker) and no calls:records stream');
    }

    const registry = deps.registry ?? new Registry();
    if (!deps.registry) collectDefaultMetrics({ register: registry });
    const telemetry = new CallTelemetry({
      metrics: new CallMetrics(registry),
      redis,
      streamMaxLength: config.callRecordsMaxLength,
      namespace: config.metrics.namespace,
      stack: config.metrics.stack,
      emf: config.emf,
      log,
    });
    ingest = await startRecordIngest((record) => telemetry.publish(record), log);
    // The job processes are forked later and inherit these.
    process.env[RECORD_SINK_URL_ENV] = ingest.url;
    process.env[RECORD_SINK_TOKEN_ENV] = ingest.token;
    if (!deps.registry) metricsServer = await startMetricsServer({ registry, host: config.host, port: config.metricsPort, log });

    if (redis && config.redis) {
      reporter = new CapacityReporter({
        redis,
        prefix: config.redis.prefix,
        workerId: `${hostname()}-${process.pid}`,
        maxSessions: config.maxSessions,
        loadThreshold: config.loadThreshold,
        log,
      });
    }
    const cpu = new CpuLoadMonitor();
    // What LiveKit routes by (it counts no jobs of its own): the busier of CPU and sessions.
    const loadFunc = async (worker: AgentServer): Promise<number> => {
      const load = workerLoad(cpu.sample(), worker.activeJobs.length, config.maxSessions);
      reporter?.reportLoad(load);
      return load;
    };

    // agents-js logs through its own logger (JSON in production).
    initializeLogger({ pretty: false, level: config.logLevel });
    // Turn detection is VAD or STT endpointing (TURN_DETECTION): the end-of-turn model process agents-js
    // would start (~138 MB) is never used.
    if (!skipEndOfTurnInferenceProcess()) log.warn('an end-of-turn inference runner was registered before the worker; its process will run');
    const server = new AgentServer(
      new ServerOptions({
        agent: AGENT_ENTRY,
        agentName: config.agentName,
        wsURL: config.livekit.url,
        apiKey: config.livekit.apiKey,
        apiSecret: config.livekit.apiSecret,
        loadThreshold: config.loadThreshold,
        loadFunc,
        numIdleProcesses: config.idleProcesses,
        drainTimeout: config.drainTimeoutSeconds * 1000,
        host: config.host,
        port: config.healthPort,
        production: true,
        logLevel: config.logLevel,
      }),
    );
    let closing = false;
    const registered = new Promise<boolean>((resolve) => server.event.once('worker_registered', () => resolve(true)));
    // The heartbeat starts once LiveKit has the worker, and resumes after each re-registration.
    server.event.on('worker_registered', () => void reporter?.registeredWithLiveKit());
    const running = server.run().catch((err: unknown) => {
      if (closing) return;
      log.error('agent worker stopped', { error: errorMessage(err) });
      (deps.onFatal ?? (() => process.exit(1)))(err);
    });
    // Wait for the registration: a close() while run() is still starting would be undone by it.
    // LiveKit unreachable at start is not fatal: the worker keeps retrying in the background.
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([registered, new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), REGISTER_WAIT_MS)))]);
    clearTimeout(timer);
    if (!inTime) log.warn('not registered with LiveKit yet; still trying', { waitedSeconds: REGISTER_WAIT_MS / 1000 });

    log.info('agent worker started', {
      agentName: config.agentName,
      maxSessions: config.maxSessions,
      capacitySessions: reporter?.offered,
      healthPort: config.healthPort,
      metricsPort: metricsServer?.port,
      spec: config.specPath,
    });

    return {
      metricsUrl: metricsServer?.url,
      async close() {
        closing = true;
        log.info('agent worker draining', { drainTimeoutSeconds: config.drainTimeoutSeconds });
        await reporter?.drain();
        await reporter?.stop().catch((err: unknown) => log.warn('heartbeat stop failed', { error: errorMessage(err) }));
        reporter = undefined;
        try {
          await server.drain();
        } catch (err) {
          log.warn('drain timed out; closing with calls still active', { error: errorMessage(err) });
        }
        // agents-js can wait forever on a job process that was still starting when the drain began;
        // past this bound the process exits anyway and takes its children with it.
        if (!(await settlesWithin(server.close(), CLOSE_WAIT_MS)) || !(await settlesWithin(running, CLOSE_WAIT_MS))) {
          log.warn('agent worker did not close in time; exiting anyway', { waitedSeconds: CLOSE_WAIT_MS / 1000 });
        }
        await cleanup();
        log.info('agent worker closed');
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
