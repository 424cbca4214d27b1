/**
 * `voice-agent drain-watch`: keeps an autoscaled instance from dropping calls when the group
 * terminates it (scale-in, instance refresh, a replaced unhealthy instance).
 *
 * The group's termination lifecycle hook holds the instance in Terminating:Wait; the instance sees
 * it in IMDSv2 as the target lifecycle state `Terminated`. The watcher then stops the containers
 * that hold calls through the Docker API (one SIGTERM each: the agent worker withdraws its capacity
 * heartbeat, refuses new jobs and finishes its calls; livekit-server drains its rooms and exits
 * when the last participant leaves), waits until they have exited or the drain time has passed
 * (the Docker API then sends SIGKILL), and completes the lifecycle action so the group terminates
 * the instance at once instead of waiting out the heartbeat.
 * Sources: Amazon EC2 Auto Scaling User Guide, "Retrieve the target lifecycle state through
 * instance metadata" and "Complete a lifecycle action"; livekit/livekit cmd/server/main.go (the
 * first SIGTERM drains, a second one forces) and pkg/service/server.go Stop (waits for
 * participants to leave, no time limit of its own).
 */
import { AutoScalingClient, CompleteLifecycleActionCommand, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { ConfigError, type Env } from '../config.js';
import { errorMessage, type Logger } from '../log.js';
import { DOCKER_SOCKET, DockerClient } from './docker.js';
import { IMDS_ENDPOINT, ImdsClient, MetadataNotFound } from './imds.js';

/** The termination hook's name on every group (components/aws creates it with this name). */
export const DEFAULT_HOOK_NAME = 'voice-agent-drain';
/** Compose project of the node (components/livekit compose.ts `name`). */
export const DEFAULT_COMPOSE_PROJECT = 'voice-agent';
/** Seconds past the drain time the watcher still waits for the stop calls (SIGKILL and exit). */
export const STOP_MARGIN_SECONDS = 30;

export interface DrainWatchConfig {
  /** Compose services holding calls, stopped on termination (DRAIN_SERVICES, e.g. "agent" or "livekit"). */
  services: string[];
  /** Seconds the calls may take to end before the containers are killed (DRAIN_SECONDS, default 600). */
  drainSeconds: number;
  /** Seconds between lifecycle state polls (DRAIN_POLL_SECONDS, default 5). */
  pollSeconds: number;
  /** Termination lifecycle hook name (LIFECYCLE_HOOK_NAME). */
  hookName: string;
  /** Compose project name (COMPOSE_PROJECT). */
  composeProject: string;
  /** Docker daemon socket (DOCKER_SOCKET). */
  dockerSocket: string;
  /** IMDS base URL (IMDS_ENDPOINT; tests point it at a stand-in). */
  imdsEndpoint: string;
  /** Auto Scaling API endpoint override (AWS_ENDPOINT_URL_AUTO_SCALING; tests point it at a stand-in). */
  autoscalingEndpoint?: string;
}

const SERVICE_NAME = /^[a-z0-9][a-z0-9_.-]*$/;

function whole(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max) throw new ConfigError(name, `${name}="${raw}": must be a whole number from ${min} to ${max}`);
  return value;
}

/** The watcher's configuration from the environment; ConfigError names the variable. */
export function parseDrainWatchConfig(env: Env): DrainWatchConfig {
  const services = (env.DRAIN_SERVICES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (services.length === 0) throw new ConfigError('DRAIN_SERVICES', 'DRAIN_SERVICES is required: the compose services holding calls, e.g. "agent" or "livekit"');
  for (const s of services) if (!SERVICE_NAME.test(s)) throw new ConfigError('DRAIN_SERVICES', `DRAIN_SERVICES: "${s}" is not a compose service name`);
  const hookName = env.LIFECYCLE_HOOK_NAME ?? DEFAULT_HOOK_NAME;
  if (!/^[A-Za-z0-9\-_/]{1,255}$/.test(hookName)) throw new ConfigError('LIFECYCLE_HOOK_NAME', `LIFECYCLE_HOOK_NAME="${hookName}": must be 1-255 letters, digits and -_/`);
  const endpoint = env.AWS_ENDPOINT_URL_AUTO_SCALING;
  return {
    services,
    // AWS lets a lifecycle hook wait at most 7200 s; the hook waits the drain plus a margin.
    drainSeconds: whole(env, 'DRAIN_SECONDS', 600, 1, 7080),
    pollSeconds: whole(env, 'DRAIN_POLL_SECONDS', 5, 1, 300),
    hookName,
    composeProject: env.COMPOSE_PROJECT ?? DEFAULT_COMPOSE_PROJECT,
    dockerSocket: env.DOCKER_SOCKET ?? DOCKER_SOCKET,
    imdsEndpoint: env.IMDS_ENDPOINT ?? IMDS_ENDPOINT,
    ...(endpoint ? { autoscalingEndpoint: endpoint } : {}),
  };
}

/** How a drain ended. */
export interface DrainOutcome {
  /** `drained`: every call-holding container exited; `timeout`: the drain time passed first. */
  reason: 'drained' | 'timeout';
  instanceId: string;
  groupName: string;
  /** Whether CompleteLifecycleAction was accepted (false: the group had already moved on). */
  completed: boolean;
  drainedSeconds: number;
}

export interface DrainWatch {
  /** Resolves once a termination has been drained and completed; never, while the instance stays in service. */
  readonly done: Promise<DrainOutcome>;
  close(): Promise<void>;
}

export interface DrainWatchDeps {
  log: Logger;
  /** The Auto Scaling client for a region (default: the SDK's, credentials from the instance role). */
  autoscaling?: (region: string) => AutoScalingClient;
}

/** Starts polling the instance's target lifecycle state. */
export function startDrainWatch(config: DrainWatchConfig, deps: DrainWatchDeps): DrainWatch {
  const log = deps.log.child({ role: 'drain-watch' });
  const imds = new ImdsClient({ endpoint: config.imdsEndpoint });
  const docker = new DockerClient(config.dockerSocket);
  const makeClient =
    deps.autoscaling ??
    ((region: string) => new AutoScalingClient({ region, maxAttempts: 5, ...(config.autoscalingEndpoint ? { endpoint: config.autoscalingEndpoint } : {}) }));
  const stopped = new AbortController();
  const sleep = (seconds: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, seconds * 1000);
      stopped.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });

  const run = async (): Promise<DrainOutcome> => {
    let lastState = '';
    for (;;) {
      if (stopped.signal.aborted) throw new Error('drain watch closed');
      let state: string;
      try {
        state = await imds.get('autoscaling/target-lifecycle-state');
      } catch (err) {
        // Outside an autoscaling group there is no such item: nothing will ever terminate us through a hook.
        state = err instanceof MetadataNotFound ? 'NotInGroup' : 'Unknown';
        if (!(err instanceof MetadataNotFound)) log.warn('lifecycle state unreadable; retrying', { error: errorMessage(err) });
      }
      if (state !== lastState) log.info('target lifecycle state', { state });
      lastState = state;
      if (state === 'Terminated') return drain();
      await sleep(config.pollSeconds);
    }
  };

  const drain = async (): Promise<DrainOutcome> => {
    const started = Date.now();
    const instanceId = await imds.get('instance-id');
    const region = await imds.get('placement/region');
    const client = makeClient(region);
    const groupName = await groupOf(imds, client, instanceId);
    log.info('instance terminating: draining calls', { instanceId, groupName, services: config.services, drainSeconds: config.drainSeconds });

    // One stop call per container: a second SIGTERM would make livekit-server stop at once.
    const stops: Array<Promise<unknown>> = [];
    for (const service of config.services) {
      const containers = await docker.serviceContainers(config.composeProject, service);
      if (containers.length === 0) log.warn('no running container for service', { service });
      for (const c of containers) {
        stops.push(
          docker.stop(c.Id, config.drainSeconds).then(
            () => log.info('container drained and stopped', { service, container: c.Id.slice(0, 12), seconds: Math.round((Date.now() - started) / 1000) }),
            (err: unknown) => log.error('stopping container failed', { service, container: c.Id.slice(0, 12), error: errorMessage(err) }),
          ),
        );
      }
    }
    let timer: NodeJS.Timeout | undefined;
    const reason = await Promise.race([
      Promise.all(stops).then(() => 'drained' as const),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), (config.drainSeconds + STOP_MARGIN_SECONDS) * 1000))),
    ]);
    clearTimeout(timer);
    if (reason === 'timeout') log.warn('drain time passed with calls still active; completing anyway', { drainSeconds: config.drainSeconds });

    const completed = await complete(client, { instanceId, groupName });
    const drainedSeconds = Math.round((Date.now() - started) / 1000);
    log.info('lifecycle action completed', { instanceId, groupName, reason, completed, drainedSeconds });
    return { reason, instanceId, groupName, completed, drainedSeconds };
  };

  const complete = async (client: AutoScalingClient, ids: { instanceId: string; groupName: string }): Promise<boolean> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await client.send(
          new CompleteLifecycleActionCommand({
            LifecycleHookName: config.hookName,
            AutoScalingGroupName: ids.groupName,
            InstanceId: ids.instanceId,
            LifecycleActionResult: 'CONTINUE',
          }),
        );
        return true;
      } catch (err) {
        // ValidationError: no action waits for this instance (the heartbeat ran out, or it was completed): nothing to retry.
        if ((err as { name?: string }).name === 'ValidationError') {
          log.warn('no lifecycle action to complete', { error: errorMessage(err) });
          return false;
        }
        if (attempt >= 5 || stopped.signal.aborted) {
          log.error('completing the lifecycle action failed; the group terminates the instance when the hook times out', { error: errorMessage(err) });
          return false;
        }
        await sleep(attempt * 2);
      }
    }
  };

  const done = run();
  done.catch(() => {});
  return {
    done,
    async close() {
      stopped.abort();
      await done.catch(() => {});
    },
  };
}

/** The instance's group: the aws:autoscaling:groupName tag in metadata, or the Auto Scaling API. */
async function groupOf(imds: ImdsClient, client: AutoScalingClient, instanceId: string): Promise<string> {
  try {
    return await imds.get('tags/instance/aws:autoscaling:groupName');
  } catch (err) {
    if (!(err instanceof MetadataNotFound)) throw err;
  }
  const answer = await client.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }));
  const name = answer.AutoScalingInstances?.[0]?.AutoScalingGroupName;
  if (!name) throw new Error(`instance ${instanceId} belongs to no autoscaling group`);
  return name;
}

/** `voice-agent --help` lines for the drain-watch role. */
export const DRAIN_WATCH_ENV_HELP: ReadonlyArray<readonly [string, string]> = [
  ['DRAIN_SERVICES', 'required; compose services holding calls, stopped on termination (e.g. agent, livekit)'],
  ['DRAIN_SECONDS', 'default 600; how long calls may take to end before the containers are killed'],
  ['LIFECYCLE_HOOK_NAME', `default ${DEFAULT_HOOK_NAME}`],
  ['COMPOSE_PROJECT', `default ${DEFAULT_COMPOSE_PROJECT}; DOCKER_SOCKET default ${DOCKER_SOCKET}`],
  ['DRAIN_POLL_SECONDS', 'default 5; IMDS_ENDPOINT default http://169.254.169.254'],
];
