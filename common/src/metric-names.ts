/**
 * The metric names the queue and the agent publish and the AWS alarms and dashboards read.
 * One module, imported by both sides, so an alarm can never watch a metric nobody writes.
 *
 * Each metric has a Prometheus name (prom-client, base units) and a CloudWatch name (Embedded
 * Metric Format log lines, namespace from METRICS_NAMESPACE, default below).
 */

/** Default CloudWatch namespace (env METRICS_NAMESPACE overrides it at run time). */
export const DEFAULT_METRICS_NAMESPACE = 'VoiceAgent';

/** The one dimension every CloudWatch metric carries: the Pulumi stack (or deployment) name. */
export const CLOUDWATCH_STACK_DIMENSION = 'Stack';

export type CloudWatchUnit = 'Count' | 'Seconds' | 'Milliseconds' | 'None' | 'Percent';

export interface MetricName {
  /** Prometheus metric name (counters end in _total; durations in seconds). */
  prometheus: string;
  /** CloudWatch metric name. */
  cloudWatch: string;
  /** CloudWatch unit of the values written under cloudWatch. */
  cloudWatchUnit: CloudWatchUnit;
  /** What it measures, for dashboards and /metrics HELP. */
  help: string;
}

export const METRICS = {
  // Queue mode (intake and dispatcher).
  queueWaitingCalls: {
    prometheus: 'voice_queue_waiting_calls',
    cloudWatch: 'QueueWaitingCalls',
    cloudWatchUnit: 'Count',
    help: 'Calls waiting for agent capacity.',
  },
  queueOldestWait: {
    prometheus: 'voice_queue_oldest_wait_seconds',
    cloudWatch: 'QueueOldestWaitSeconds',
    cloudWatchUnit: 'Seconds',
    help: 'Age of the oldest waiting call.',
  },
  queueWait: {
    prometheus: 'voice_queue_wait_seconds',
    cloudWatch: 'QueueWaitSeconds',
    cloudWatchUnit: 'Seconds',
    help: 'Time from intake to dispatch, per call.',
  },
  activeCalls: {
    prometheus: 'voice_active_calls',
    cloudWatch: 'ActiveCalls',
    cloudWatchUnit: 'Count',
    help: 'Calls dispatched to an agent and not yet finished.',
  },
  fleetCapacity: {
    prometheus: 'voice_fleet_capacity_sessions',
    cloudWatch: 'FleetCapacitySessions',
    cloudWatchUnit: 'Count',
    help: 'Concurrent sessions the agent fleet can take now.',
  },
  deadLetters: {
    prometheus: 'voice_queue_dead_letters',
    cloudWatch: 'QueueDeadLetters',
    cloudWatchUnit: 'Count',
    help: 'Calls in the dead-letter queue.',
  },
  deadLettered: {
    prometheus: 'voice_queue_dead_lettered_total',
    cloudWatch: 'CallsDeadLettered',
    cloudWatchUnit: 'Count',
    help: 'Calls moved to the dead-letter queue.',
  },
  callsReceived: {
    prometheus: 'voice_intake_calls_total',
    cloudWatch: 'CallsReceived',
    cloudWatchUnit: 'Count',
    help: 'Calls accepted by the intake (duplicates not counted).',
  },
  dispatchLatency: {
    prometheus: 'voice_dispatch_latency_seconds',
    cloudWatch: 'DispatchLatency',
    cloudWatchUnit: 'Milliseconds',
    help: 'Time from admission to CreateDispatch answered.',
  },
  agentJoin: {
    prometheus: 'voice_agent_join_seconds',
    cloudWatch: 'AgentJoinSeconds',
    cloudWatchUnit: 'Seconds',
    help: 'Time from CreateDispatch answered to an agent taking the call (a worker accepted the job, or the agent is in the room).',
  },
  callsRecovered: {
    prometheus: 'voice_calls_recovered_total',
    cloudWatch: 'CallsRecovered',
    cloudWatchUnit: 'Count',
    help: 'Calls the recovery sweep fixed, by reason: missed-join (a caller whose participant_joined LiveKit gave up on), room-gone (a call whose room_finished was lost).',
  },
  // The agent (one value per call or per turn).
  turnLatency: {
    prometheus: 'voice_turn_latency_seconds',
    cloudWatch: 'TurnLatency',
    cloudWatchUnit: 'Milliseconds',
    help: 'End of user speech to first agent audio, per turn.',
  },
  callsFinished: {
    prometheus: 'voice_calls_total',
    cloudWatch: 'CallsFinished',
    cloudWatchUnit: 'Count',
    help: 'Calls finished, by outcome and use case.',
  },
  callSucceeded: {
    prometheus: 'voice_call_success_ratio',
    cloudWatch: 'CallSucceeded',
    cloudWatchUnit: 'None',
    help: '1 for a call that completed without error, else 0 (its average is the success rate).',
  },
  callEscalated: {
    prometheus: 'voice_call_escalated_ratio',
    cloudWatch: 'CallEscalated',
    cloudWatchUnit: 'None',
    help: '1 for a call handed to a human, else 0 (its average is the escalation rate).',
  },
  callCost: {
    prometheus: 'voice_call_cost_usd',
    cloudWatch: 'CallCostUsd',
    cloudWatchUnit: 'None',
    help: 'Provider cost of one call in USD, priced with the shared catalog.',
  },
  callDuration: {
    prometheus: 'voice_call_duration_seconds',
    cloudWatch: 'CallDurationSeconds',
    cloudWatchUnit: 'Seconds',
    help: 'Length of one call, agent joined to call end.',
  },
  supervisorOverrides: {
    prometheus: 'voice_supervisor_overrides_total',
    cloudWatch: 'SupervisorOverrides',
    cloudWatchUnit: 'Count',
    help: 'Times the supervisor overrode the active agent, by reason.',
  },
  phraseCacheHits: {
    prometheus: 'voice_phrase_cache_hits_total',
    cloudWatch: 'PhraseCacheHits',
    cloudWatchUnit: 'Count',
    help: 'Agent utterances played from pre-rendered audio instead of TTS.',
  },
  phraseCacheMisses: {
    prometheus: 'voice_phrase_cache_misses_total',
    cloudWatch: 'PhraseCacheMisses',
    cloudWatchUnit: 'Count',
    help: 'Agent utterances synthesised by the TTS provider.',
  },
  phraseCacheSavedCharacters: {
    prometheus: 'voice_phrase_cache_saved_characters_total',
    cloudWatch: 'PhraseCacheSavedCharacters',
    cloudWatchUnit: 'Count',
    help: 'TTS characters not billed because the phrase played from the cache.',
  },
} as const satisfies Record<string, MetricName>;

export type MetricKey = keyof typeof METRICS;
