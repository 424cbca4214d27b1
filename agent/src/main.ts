#!/usr/bin/env node
/**
 * `voice-agent <command>`: the queue-mode roles and the operator commands.
 * Exit codes: 0 ok, 2 a user error (bad flag, bad or missing environment variable), 1 a failure of
 * the world (Redis unreachable, port taken).
 */
import { createRequire } from 'node:module';
import { parseArgs, UsageError, type Command, type Role } from './cli/args.js';
import { runQueueCommand, WorldError } from './cli/queue-commands.js';
import { ConfigError, ENV_HELP, parseAllConfig, parseDispatcherConfig, parseIntakeConfig, parseQueueCommandConfig, type Env, type MetricsConfig } from './config.js';
import { DRAIN_WATCH_ENV_HELP, parseDrainWatchConfig, startDrainWatch } from './lifecycle/drain-watch.js';
import { createLogger, errorMessage, parseLogLevel, type Logger } from './log.js';
import { startDispatcher } from './queue/dispatcher.js';
import { startIntake } from './queue/intake.js';
import { runSipSync } from './sip/command.js';
import { parseSipSyncConfig, SIP_SYNC_ENV_HELP } from './sip/config.js';
import { QueueMetrics, startEmfReporter } from './telemetry/metrics.js';
// The LiveKit agent worker (the `agent` role, also part of `all`), loaded only when it runs.
import { AGENT_ENV_HELP } from './worker/help.js';

const HELP = `voice-agent: the bundled voice agent (LiveKit agent worker) and its queue mode

Usage:
  voice-agent agent                       the LiveKit agent worker: router, specialists and supervisor, one call per job process
  voice-agent intake                      HTTP intake: signed LiveKit webhooks and POST /v1/calls into the Redis queue
  voice-agent dispatcher                  admit queued calls within fleet capacity and dispatch agents to their rooms
  voice-agent all                         intake, dispatcher and agent worker in one process (single-box small tier)
  voice-agent drain-watch                 on an autoscaled instance: when it is being terminated, drain the calls
                                          (stop their containers through the Docker API), then complete the lifecycle action
  voice-agent queue stats [--json]        waiting, active, capacity, oldest wait, dead letters
  voice-agent queue dead-letters [--json] list dead-lettered calls
  voice-agent queue retry <callId>|--all [--json]
                                          re-drive dead-lettered calls (fresh attempts, back of the line)
  voice-agent sip-sync [--json]           make LiveKit's SIP trunks and dispatch rule match the stack's declaration

Options:
  -h, --help     this help
  --version      print the version
  --json         machine-readable output (queue commands)

Environment (validated at start; see agent/README.md for all of it):
${ENV_HELP.map(([name, text]) => `  ${name.padEnd(22)} ${text}`).join('\n')}

Environment of the agent role (and all):
${AGENT_ENV_HELP.map(([name, text]) => `  ${name.padEnd(22)} ${text}`).join('\n')}

Environment of sip-sync (besides LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET, REDIS_URL):
${SIP_SYNC_ENV_HELP.map(([name, text]) => `  ${name.padEnd(22)} ${text}`).join('\n')}

Environment of the drain-watch role (AWS credentials and region from the instance):
${DRAIN_WATCH_ENV_HELP.map(([name, text]) => `  ${name.padEnd(22)} ${text}`).join('\n')}

Exit codes: 0 ok, 2 bad flag or environment, 1 Redis or network failure.
`;

interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

function version(): string {
  const require = createRequire(import.meta.url);
  return (require('../package.json') as { version: string }).version;
}

interface Running {
  close(): Promise<void>;
  /** How long close() may take before the process gives up (default 60 s). */
  drainTimeoutMs?: number;
}

async function startRole(role: Role, env: Env, log: Logger): Promise<Running> {
  const metrics = new QueueMetrics();
  const emf = (config: MetricsConfig) =>
    startEmfReporter({ metrics, namespace: config.namespace, stack: config.stack, intervalSeconds: config.emfIntervalSeconds, log });
  switch (role) {
    case 'agent': {
      const { parseAgentWorkerConfig, startAgentWorker } = await import('./worker/index.js');
      const config = parseAgentWorkerConfig(env);
      const worker = await startAgentWorker(config, { log, env });
      // Active calls may run for the whole drain timeout; leave room to close after it.
      return { close: () => worker.close(), drainTimeoutMs: (config.drainTimeoutSeconds + 30) * 1000 };
    }
    case 'intake': {
      const config = parseIntakeConfig(env);
      const intake = await startIntake(config, { log: log.child({ role: 'intake' }), metrics });
      const reporter = emf(config.metrics);
      return { close: async () => (await intake.close(), await reporter.stop()) };
    }
    case 'dispatcher': {
      const config = parseDispatcherConfig(env);
      const dispatcher = await startDispatcher(config, { log: log.child({ role: 'dispatcher' }), metrics });
      const reporter = emf(config.metrics);
      return { close: async () => (await dispatcher.close(), await reporter.stop()) };
    }
    case 'drain-watch': {
      const watch = startDrainWatch(parseDrainWatchConfig(env), { log });
      return { close: () => watch.close(), drainTimeoutMs: 10_000 };
    }
    case 'all': {
      const config = parseAllConfig(env);
      const { parseAgentWorkerConfig, startAgentWorker } = await import('./worker/index.js');
      const agentConfig = parseAgentWorkerConfig(env);
      const dispatcher = await startDispatcher(config.dispatcher, { log: log.child({ role: 'dispatcher' }), metrics });
      const intake = await startIntake(config.intake, { log: log.child({ role: 'intake' }), metrics });
      // The agent worker starts after the dispatcher and closes last; its call metrics join the intake's /metrics.
      const worker = await startAgentWorker(agentConfig, { log, env, registry: metrics.registry });
      const reporter = emf(config.dispatcher.metrics);
      return {
        close: async () => {
          await intake.close(); // stop taking calls first
          await dispatcher.close();
          await worker.close();
          await reporter.stop();
        },
        drainTimeoutMs: (agentConfig.drainTimeoutSeconds + 30) * 1000,
      };
    }
  }
}

/** Runs a role until SIGTERM/SIGINT, then drains. */
async function runRole(role: Role, env: Env, io: Io): Promise<number> {
  const log = createLogger({ level: parseLogLevel(env.LOG_LEVEL) });
  const running = await startRole(role, env, log);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info('draining', { signal });
      // A second signal while draining means "now".
      process.once('SIGTERM', () => process.exit(1));
      process.once('SIGINT', () => process.exit(1));
      resolve();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  const drainTimeoutMs = running.drainTimeoutMs ?? 60_000;
  const timeout = setTimeout(() => {
    io.stderr(`voice-agent: drain took longer than ${Math.round(drainTimeoutMs / 1000)} s; exiting\n`);
    process.exit(1);
  }, drainTimeoutMs);
  timeout.unref();
  await running.close();
  return 0;
}

export async function main(argv: readonly string[], env: Env, io: Io): Promise<number> {
  let command: Command;
  try {
    command = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`voice-agent: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  try {
    switch (command.kind) {
      case 'help':
        io.stdout(HELP);
        return 0;
      case 'version':
        io.stdout(`${version()}\n`);
        return 0;
      case 'role':
        return await runRole(command.role, env, io);
      case 'sip-sync':
        return await runSipSync(parseSipSyncConfig(env), io, { json: command.json });
      default:
        return await runQueueCommand(command, parseQueueCommandConfig(env), io);
    }
  } catch (err) {
    if (err instanceof ConfigError || err instanceof UsageError) {
      io.stderr(`voice-agent: ${err.message}\n`);
      return 2;
    }
    if (err instanceof WorldError) {
      io.stderr(`voice-agent: ${err.message}\n`);
      return 1;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      io.stderr(`voice-agent: cannot listen: ${errorMessage(err)}\n`);
      return 1;
    }
    io.stderr(`voice-agent: ${errorMessage(err)}\n`);
    return 1;
  }
}

const io: Io = { stdout: (t) => void process.stdout.write(t), stderr: (t) => void process.stderr.write(t) };
main(process.argv.slice(2), process.env, io).then(
  (code) => {
    process.exitCode = code;
    // Roles have closed their connections; queue commands too. Exit even if a stray timer remains.
    setTimeout(() => process.exit(code), 100).unref();
  },
  (err: unknown) => {
    process.stderr.write(`voice-agent: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
