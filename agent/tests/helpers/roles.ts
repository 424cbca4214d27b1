/**
 * Intake and dispatcher in the test process, through their public start functions, with logs
 * captured as records for assertions.
 */
import { parseDispatcherConfig, parseIntakeConfig } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/log.js';
import { startDispatcher, type Dispatcher } from '../../src/queue/dispatcher.js';
import { startIntake, type Intake } from '../../src/queue/intake.js';
import { QueueMetrics } from '../../src/telemetry/metrics.js';
import type { Harness } from './harness.js';

export class LogCapture {
  readonly records: Array<Record<string, unknown>> = [];
  readonly log: Logger = createLogger({ level: 'debug', write: (line) => void this.records.push(JSON.parse(line) as Record<string, unknown>) });
  find(msg: string): Array<Record<string, unknown>> {
    return this.records.filter((r) => r.msg === msg);
  }
}

export interface InProcessRoles {
  intake: Intake;
  dispatchers: Dispatcher[];
  /** The intake's metrics. */
  metrics: QueueMetrics;
  dispatcherMetrics: QueueMetrics[];
  logs: LogCapture;
  close(): Promise<void>;
}

export async function startRoles(h: Harness, env: Record<string, string> = {}, dispatcherCount = 1): Promise<InProcessRoles> {
  const logs = new LogCapture();
  const metrics = new QueueMetrics({ processMetrics: false });
  const fullEnv = h.env(env);
  const intake = await startIntake(parseIntakeConfig(fullEnv), { log: logs.log, metrics });
  h.connectIntake(intake.url);
  const dispatchers: Dispatcher[] = [];
  const dispatcherMetrics: QueueMetrics[] = [];
  for (let i = 0; i < dispatcherCount; i++) {
    dispatcherMetrics.push(new QueueMetrics({ processMetrics: false }));
    dispatchers.push(await startDispatcher(parseDispatcherConfig(fullEnv), { log: logs.log.child({ dispatcher: i }), metrics: dispatcherMetrics[i] }));
  }
  return {
    intake,
    dispatchers,
    metrics,
    dispatcherMetrics,
    logs,
    async close() {
      await intake.close();
      await Promise.all(dispatchers.map((d) => d.close()));
    },
  };
}
