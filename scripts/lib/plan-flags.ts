/** The plan CLI's traffic flags and how they layer over a stack file's values. */
import { ConfigError, parseStackConfig } from '../../components/config.js';
import { buildStackReport } from '../../components/report.js';
import { UsageError } from './cli.js';
import { stackValues } from './stacks.js';

/** Each flag and the config key it sets (dotted path). */
export const FLAG_KEYS = {
  minutes: 'monthlyMinutes',
  tier: 'tier',
  'avg-call-minutes': 'traffic.avgCallMinutes',
  'business-days': 'traffic.businessDaysPerMonth',
  'busy-hour-share': 'traffic.busyHourShare',
  'spike-multiplier': 'traffic.spikeMultiplier',
  'max-wait-seconds': 'traffic.maxWaitSeconds',
  'service-level': 'traffic.serviceLevel',
} as const;

export type PlanFlag = keyof typeof FLAG_KEYS;

/**
 * Plans one stack (its file's values, or the defaults when stack is null) with the flags layered
 * on top. A bad value names the flag that set it, or the stack file and key.
 */
export function reportWithFlags(stack: string | null, flags: Partial<Record<PlanFlag, string>>) {
  const values: Record<string, unknown> = stack ? structuredClone(stackValues(stack)) : {};
  for (const [flag, raw] of Object.entries(flags) as Array<[PlanFlag, string]>) {
    setPath(values, FLAG_KEYS[flag], raw);
  }
  try {
    return buildStackReport(stack, parseStackConfig(values));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const flag = (Object.keys(flags) as PlanFlag[]).find((f) => FLAG_KEYS[f] === error.key);
    if (flag) throw new UsageError(`--${flag} ${JSON.stringify(flags[flag])}: ${error.allowed}`);
    if (stack) throw new ConfigError(`stacks/Pulumi.${stack}.yaml: voice-agent-infra:${error.key}`, error.value, error.allowed);
    throw error;
  }
}

/** Sets a dotted path (`traffic.avgCallMinutes`) in nested config values, creating maps on the way. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    node = (next && typeof next === 'object' ? next : (node[part] = {})) as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
}
