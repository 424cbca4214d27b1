/**
 * Alerts and the dashboard: an SNS topic (email subscription from config), a CloudWatch dashboard
 * (queue, active calls vs capacity, turn latency P50/P95/P99, success and escalation, cost per
 * call, CPU) and the alarms, all on the metric names the queue and the agent publish
 * (@voice-agent-infra/common METRICS, dimension Stack). Alarm and dashboard definitions are pure
 * data (alarmSpecs, dashboardBody), tested without resources.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { CLOUDWATCH_STACK_DIMENSION, METRICS, type MetricKey } from '@voice-agent-infra/common';
import { named, type Tags } from './common.js';

/** The seed's targets: success >= 95% ("good"), turn latency P95 < 800 ms ("acceptable"). */
export const ALARM_THRESHOLDS = {
  successRate: 0.95,
  turnLatencyP95Ms: 800,
  /** Average CPU of the busiest compute group over 10 minutes. */
  cpuPercent: 80,
  /** Minutes in a row with calls waiting before the backlog alarm fires. */
  backlogMinutes: 5,
} as const;

/** Where CPU comes from: the single node (small, mid: an instance id) or an autoscaling group (its name). */
export interface CpuSource<Id = string> {
  kind: 'instance' | 'group';
  id: Id;
  label: string;
}

export interface MonitoringInputs {
  stack: string;
  region: string;
  namespace: string;
  /** A call waiting longer than this breaches the plan (plan.assumptions.maxWaitSeconds). */
  maxWaitSeconds: number;
  cpuSources: Array<CpuSource<pulumi.Input<string>>>;
}

/** One alarm, as data. */
export interface AlarmSpec {
  id: 'dead-letters' | 'success-rate' | 'turn-latency-p95' | 'backlog' | 'oldest-wait' | 'cpu';
  description: string;
  comparisonOperator: 'GreaterThanThreshold' | 'LessThanThreshold';
  threshold: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  treatMissingData: 'notBreaching' | 'missing';
  /** A single stack metric, or metric math (CPU). */
  metric:
    | { kind: 'stack'; key: MetricKey; period: number; statistic?: 'Maximum' | 'Minimum' | 'Average' | 'Sum'; extendedStatistic?: string }
    | { kind: 'math'; queries: aws.types.input.cloudwatch.MetricAlarmMetricQuery[] };
}

/** The stack's alarms (one per entry; components/cost prices ALARM_COUNT of them). */
export function alarmSpecs(inputs: Omit<MonitoringInputs, 'region'>): AlarmSpec[] {
  return [
    {
      id: 'dead-letters',
      description: 'Calls in the dead-letter queue: they failed every attempt (re-drive with `voice-agent queue`).',
      comparisonOperator: 'GreaterThanThreshold',
      threshold: 0,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: 'notBreaching',
      metric: { kind: 'stack', key: 'deadLetters', period: 60, statistic: 'Maximum' },
    },
    {
      id: 'success-rate',
      description: `Call success rate under ${ALARM_THRESHOLDS.successRate * 100}% over 15 minutes.`,
      comparisonOperator: 'LessThanThreshold',
      threshold: ALARM_THRESHOLDS.successRate,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: 'notBreaching',
      metric: { kind: 'stack', key: 'callSucceeded', period: 300, statistic: 'Average' },
    },
    {
      id: 'turn-latency-p95',
      description: `Turn latency P95 over ${ALARM_THRESHOLDS.turnLatencyP95Ms} ms (end of user speech to first agent audio) for 10 minutes.`,
      comparisonOperator: 'GreaterThanThreshold',
      threshold: ALARM_THRESHOLDS.turnLatencyP95Ms,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: 'notBreaching',
      metric: { kind: 'stack', key: 'turnLatency', period: 300, extendedStatistic: 'p95' },
    },
    {
      id: 'backlog',
      description: `Calls waiting for an agent ${ALARM_THRESHOLDS.backlogMinutes} minutes in a row: the fleet is not keeping up (at its max size, or not scaling).`,
      comparisonOperator: 'GreaterThanThreshold',
      threshold: 0,
      evaluationPeriods: ALARM_THRESHOLDS.backlogMinutes,
      datapointsToAlarm: ALARM_THRESHOLDS.backlogMinutes,
      treatMissingData: 'notBreaching',
      metric: { kind: 'stack', key: 'queueWaitingCalls', period: 60, statistic: 'Minimum' },
    },
    {
      id: 'oldest-wait',
      description: `A call has waited over ${inputs.maxWaitSeconds} s (the plan's acceptable wait).`,
      comparisonOperator: 'GreaterThanThreshold',
      threshold: inputs.maxWaitSeconds,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: 'notBreaching',
      metric: { kind: 'stack', key: 'queueOldestWait', period: 60, statistic: 'Maximum' },
    },
    {
      id: 'cpu',
      description: `Average CPU of the busiest compute group (${inputs.cpuSources.map((s) => s.label).join(', ')}) over ${ALARM_THRESHOLDS.cpuPercent}% for 10 minutes.`,
      comparisonOperator: 'GreaterThanThreshold',
      threshold: ALARM_THRESHOLDS.cpuPercent,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: 'missing',
      metric: { kind: 'math', queries: cpuQueries(inputs.cpuSources) },
    },
  ];
}

/** CPU of every source and their maximum: one alarm however many groups the tier has. */
function cpuQueries(sources: ReadonlyArray<CpuSource<pulumi.Input<string>>>): aws.types.input.cloudwatch.MetricAlarmMetricQuery[] {
  if (sources.length === 0) throw new Error('the CPU alarm needs at least one CPU source');
  const queries: aws.types.input.cloudwatch.MetricAlarmMetricQuery[] = sources.map((source, i) => ({
    id: `cpu${i}`,
    label: source.label,
    returnData: false,
    metric: {
      namespace: 'AWS/EC2',
      metricName: 'CPUUtilization',
      period: 300,
      stat: 'Average',
      dimensions: { [cpuDimension(source)]: source.id },
    },
  }));
  queries.push({ id: 'busiest', label: 'busiest group CPU', expression: `MAX([${sources.map((_, i) => `cpu${i}`).join(', ')}])`, returnData: true });
  return queries;
}

function cpuDimension(source: Pick<CpuSource<unknown>, 'kind'>): 'InstanceId' | 'AutoScalingGroupName' {
  return source.kind === 'instance' ? 'InstanceId' : 'AutoScalingGroupName';
}

type DashboardMetric = [string, string, ...string[]] | [string, string, string, string, Record<string, unknown>];

/** The dashboard JSON (CloudWatch dashboard body). */
export function dashboardBody(inputs: Omit<MonitoringInputs, 'cpuSources'> & { cpuSources: CpuSource[]; alarmArns: string[] }): Record<string, unknown> {
  const m = (key: MetricKey, options: Record<string, unknown> = {}): DashboardMetric => [
    inputs.namespace,
    METRICS[key].cloudWatch,
    CLOUDWATCH_STACK_DIMENSION,
    inputs.stack,
    { label: METRICS[key].help.replace(/\.$/, ''), ...options },
  ];
  const widget = (x: number, y: number, title: string, metrics: DashboardMetric[], extra: Record<string, unknown> = {}) => ({
    type: 'metric',
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, region: inputs.region, view: 'timeSeries', stacked: false, period: 60, metrics, ...extra },
  });
  const line = (value: number, label: string) => ({ horizontal: [{ value, label }] });
  const cpu: DashboardMetric[] = inputs.cpuSources.map((s) => ['AWS/EC2', 'CPUUtilization', cpuDimension(s), s.id, { label: s.label }]);
  return {
    widgets: [
      widget(0, 0, 'Queue: calls waiting and oldest wait', [m('queueWaitingCalls', { stat: 'Maximum' }), m('queueOldestWait', { stat: 'Maximum', yAxis: 'right' })], {
        annotations: { horizontal: [{ value: inputs.maxWaitSeconds, label: 'acceptable wait (s)', yAxis: 'right' }] },
      }),
      widget(12, 0, 'Queue wait time per call (s)', [m('queueWait', { stat: 'p50', label: 'P50' }), m('queueWait', { stat: 'p95', label: 'P95' })]),
      widget(0, 6, 'Active calls vs fleet capacity', [m('activeCalls', { stat: 'Maximum' }), m('fleetCapacity', { stat: 'Minimum' })]),
      widget(
        12,
        6,
        'Turn latency (ms)',
        [m('turnLatency', { stat: 'p50', label: 'P50' }), m('turnLatency', { stat: 'p95', label: 'P95' }), m('turnLatency', { stat: 'p99', label: 'P99' })],
        { period: 300, annotations: line(ALARM_THRESHOLDS.turnLatencyP95Ms, 'P95 alarm') },
      ),
      widget(0, 12, 'Success and escalation rates', [m('callSucceeded', { stat: 'Average', label: 'success rate' }), m('callEscalated', { stat: 'Average', label: 'escalation rate' })], {
        period: 300,
        yAxis: { left: { min: 0, max: 1 } },
        annotations: line(ALARM_THRESHOLDS.successRate, 'success alarm'),
      }),
      widget(12, 12, 'Cost per call (USD)', [m('callCost', { stat: 'Average', label: 'average' }), m('callCost', { stat: 'p95', label: 'P95' })], { period: 300 }),
      widget(0, 18, 'Calls and dead letters', [
        m('callsReceived', { stat: 'Sum' }),
        m('callsFinished', { stat: 'Sum' }),
        m('deadLettered', { stat: 'Sum' }),
        m('deadLetters', { stat: 'Maximum', yAxis: 'right' }),
      ]),
      widget(12, 18, 'CPU (%)', cpu, { period: 300, annotations: line(ALARM_THRESHOLDS.cpuPercent, 'CPU alarm') }),
      { type: 'alarm', x: 0, y: 24, width: 24, height: 3, properties: { title: 'Alarms', alarms: inputs.alarmArns } },
    ],
  };
}

/** The console URL of a dashboard. */
export function dashboardUrl(region: string, dashboardName: string): string {
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${encodeURIComponent(dashboardName)}`;
}

export interface MonitoringArgs {
  /** Stack name: the Stack dimension and the dashboard name. */
  stack: string;
  /** The provider's region (aws.getRegionOutput()): the dashboard's widgets and its console URL. */
  region: pulumi.Input<string>;
  /** CloudWatch namespace the queue and agent publish to. */
  namespace: string;
  /** The plan's acceptable wait, seconds (plan.assumptions.maxWaitSeconds). */
  maxWaitSeconds: number;
  /** CPU sources: the node or groups of this tier. */
  cpuSources: Array<CpuSource<pulumi.Input<string>>>;
  /** Email subscribed to the topic (aws.alertEmail); none when unset. */
  alertEmail?: string;
  /** Tags on the topic and alarms. */
  tags: Tags;
}

/** SNS topic, dashboard and alarms. */
export class Monitoring extends pulumi.ComponentResource {
  public readonly topic: aws.sns.Topic;
  public readonly alarms: aws.cloudwatch.MetricAlarm[] = [];
  public readonly dashboard: aws.cloudwatch.Dashboard;
  public readonly dashboardUrl: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:aws:Monitoring', name, {}, opts);
    this.topic = new aws.sns.Topic(`${name}-alerts`, { tags: named(args.tags, `${name}-alerts`, 'monitoring') }, { parent: this });
    if (args.alertEmail) {
      new aws.sns.TopicSubscription(`${name}-alerts-email`, { topic: this.topic.arn, protocol: 'email', endpoint: args.alertEmail }, { parent: this });
    }

    const inputs: Omit<MonitoringInputs, 'region'> = {
      stack: args.stack,
      namespace: args.namespace,
      maxWaitSeconds: args.maxWaitSeconds,
      cpuSources: args.cpuSources,
    };
    for (const spec of alarmSpecs(inputs)) {
      const metric =
        spec.metric.kind === 'stack'
          ? {
              namespace: args.namespace,
              metricName: METRICS[spec.metric.key].cloudWatch,
              dimensions: { [CLOUDWATCH_STACK_DIMENSION]: args.stack },
              period: spec.metric.period,
              ...(spec.metric.statistic ? { statistic: spec.metric.statistic } : {}),
              ...(spec.metric.extendedStatistic ? { extendedStatistic: spec.metric.extendedStatistic } : {}),
            }
          : { metricQueries: spec.metric.queries };
      this.alarms.push(
        new aws.cloudwatch.MetricAlarm(
          `${name}-${spec.id}`,
          {
            alarmDescription: spec.description,
            comparisonOperator: spec.comparisonOperator,
            threshold: spec.threshold,
            evaluationPeriods: spec.evaluationPeriods,
            datapointsToAlarm: spec.datapointsToAlarm,
            treatMissingData: spec.treatMissingData,
            ...metric,
            alarmActions: [this.topic.arn],
            okActions: [this.topic.arn],
            tags: named(args.tags, `${name}-${spec.id}`, 'monitoring'),
          },
          { parent: this },
        ),
      );
    }

    const dashboardName = `voice-agent-${args.stack}`;
    this.dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName,
        dashboardBody: pulumi
          .all([pulumi.all(args.cpuSources.map((s) => s.id)), pulumi.all(this.alarms.map((a) => a.arn)), args.region])
          .apply(([ids, alarmArns, region]) =>
            JSON.stringify(dashboardBody({ ...inputs, region, cpuSources: args.cpuSources.map((s, i) => ({ ...s, id: ids[i]! })), alarmArns })),
          ),
      },
      { parent: this },
    );
    this.dashboardUrl = pulumi.output(args.region).apply((region) => dashboardUrl(region, dashboardName));
    this.registerOutputs({ topicArn: this.topic.arn, dashboardUrl: this.dashboardUrl });
  }
}
