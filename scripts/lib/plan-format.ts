/** The readable form of a stack report (`npm run plan`), pure: report in, text out. */
import type { StackReport } from '../../components/report.js';
import { breakEvenLabel, formatUsd, formatUsdPerMinute } from './cost-summary.js';

/** A cost line: cents for the small ones (NLCUs, secrets), whole dollars like the totals above $10. */
function formatLineUsd(usd: number): string {
  return Math.abs(usd) < 10 ? `$${usd.toFixed(2)}` : formatUsd(usd);
}

function formatNumber(n: number, fractionDigits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: fractionDigits, maximumFractionDigits: fractionDigits });
}

function percent(share: number, digits = 2): string {
  return `${(share * 100).toFixed(digits)}%`;
}

/** Left-aligned text columns; numbers right-aligned. */
function table(rows: string[][], rightAligned: ReadonlySet<number> = new Set()): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) => r.map((cell, c) => (rightAligned.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd())
    .join('\n');
}

function indent(text: string, spaces = 2): string {
  return text
    .split('\n')
    .map((l) => ' '.repeat(spaces) + l)
    .join('\n');
}

export function formatPlan(report: StackReport, tierReason?: string): string {
  const a = report.assumptions;
  const out: string[] = [];
  const title = report.stack ? `Stack ${report.stack}` : 'Plan';
  out.push(`${title}: tier ${report.tier}${tierReason ? ` (${tierReason})` : ''}, target ${report.target}`);
  out.push('');
  out.push('Traffic');
  out.push(
    indent(
      `${formatNumber(a.monthlyMinutes)} min/month, average call ${a.avgCallMinutes} min, ${a.businessDaysPerMonth} business days, ` +
        `busy hour ${percent(a.busyHourShare, 0)} of a day's minutes, spike x${a.spikeMultiplier}\n` +
        `target: ${percent(a.serviceLevel, 1)} of callers answered within ${a.maxWaitSeconds} s`,
    ),
  );
  out.push('');
  out.push('Capacity (Erlang C)');
  const cap = (name: string, c: StackReport['capacity']['busyHour']) => [
    name,
    c.erlangs.toFixed(2),
    String(c.sessions),
    percent(c.probabilityOfWait),
    percent(c.serviceLevel),
    `${c.averageSpeedOfAnswerSeconds.toFixed(2)} s`,
  ];
  out.push(
    indent(
      table(
        [
          ['', 'load (Erlangs)', 'sessions', 'P(wait)', `within ${a.maxWaitSeconds} s`, 'avg wait'],
          cap('busy hour', report.capacity.busyHour),
          cap('spike', report.capacity.spike),
        ],
        new Set([1, 2, 3, 4, 5]),
      ),
    ),
  );
  out.push('');
  const podRows = kubernetesRows(report);
  out.push(podRows ? 'Pods (Kubernetes)' : 'Machines');
  const lk = report.livekit;
  const ag = report.agents;
  const range = (r: { min: number; max: number }) => (r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`);
  const machineRows = [
    report.tier === 'small'
      ? ['one box', `${lk.instanceType} (${lk.vcpu} vCPU, ${lk.memoryGiB} GiB): LiveKit, Caddy, Redis, agent (${ag.sessionsPerWorker} sessions), intake, dispatcher`]
      : ['LiveKit', `${lk.instanceType} (${lk.vcpu} vCPU, ${lk.memoryGiB} GiB) x ${range(lk.nodes)}`],
  ];
  if (report.tier !== 'small') {
    machineRows.push(['agents', `${ag.instanceType} (${ag.vcpu} vCPU, ${ag.memoryGiB} GiB), ${ag.sessionsPerWorker} sessions each, workers ${range(ag.workers)}`]);
  }
  machineRows.push([
    'Redis',
    report.redis.mode === 'managed'
      ? `ElastiCache ${report.redis.nodeType}, ${report.redis.replicas} replica${report.redis.replicas === 1 ? '' : 's'} (Multi-AZ)`
      : report.tier === 'small'
        ? 'local on the box'
        : 'local on the LiveKit node',
  ]);
  machineRows.push(['load balancer', report.loadBalancer ? 'Network Load Balancers (TLS signalling, TURN/TLS)' : 'none (Caddy terminates TLS on the box)']);
  out.push(indent(table(podRows ?? machineRows)));
  out.push('');
  const local = Object.entries(report.inference);
  if (local.length > 0) {
    out.push('Local models (GPU servers)');
    out.push(indent(table(local.map(([modality, s]) => [modality.toUpperCase(), `${s.model} on ${s.instanceType} (${s.gpu}) x ${range(s.gpus)}; scales on ${s.scaling.metric} at ${s.scaling.target}; ${s.basis}`]))));
    out.push('');
  }
  const llm = report.llmRateLimits;
  out.push(
    `LLM at the spike: ${formatNumber(llm.requestsPerMinute)} requests/min, ${formatNumber(llm.tokensPerMinute)} tokens/min` +
      (llm.byModel.length > 1 ? ` (${llm.byModel.map((m) => `${m.model}: ${formatNumber(m.requestsPerMinute)} req/min, ${formatNumber(m.tokensPerMinute)} tok/min`).join('; ')})` : ''),
  );
  out.push('');
  out.push('Cost per month');
  const lineRows = [['item', 'quantity', 'unit $', 'monthly', 'basis']];
  for (const l of report.cost.lines) {
    lineRows.push([l.item, formatNumber(l.quantity, l.quantity < 100 ? 2 : 0), l.unitUsd < 0.01 ? l.unitUsd.toPrecision(3) : l.unitUsd.toFixed(4), formatLineUsd(l.monthlyUsd), l.basis]);
  }
  out.push(indent(table(lineRows, new Set([1, 2, 3]))));
  out.push(
    indent(
      table(
        [
          ['infrastructure', formatUsd(report.cost.infraMonthlyUsd)],
          ['providers', formatUsd(report.cost.providersMonthlyUsd)],
          ['total', formatUsd(report.cost.monthlyUsd)],
          ['per minute', formatUsdPerMinute(report.cost.perMinuteUsd)],
        ],
        new Set([1]),
      ),
    ),
  );
  out.push('');
  out.push(`Managed platforms at ${formatNumber(a.monthlyMinutes)} min/month`);
  const managedRows = [['platform', '$/min', '$/month', 'saving/month', 'break-even']];
  for (const m of report.cost.managed) {
    managedRows.push([
      m.platform,
      formatUsdPerMinute(m.perMinuteUsd),
      formatUsd(m.monthlyUsd),
      formatUsd(m.monthlyUsd - report.cost.monthlyUsd),
      breakEvenLabel(m.breakEvenMinutes),
    ]);
  }
  out.push(indent(table(managedRows, new Set([1, 2, 3, 4]))));
  if (report.warnings.length > 0) {
    out.push('');
    out.push('Warnings');
    for (const w of report.warnings) out.push(`  - ${w}`);
  }
  return out.join('\n');
}

/** The Kubernetes layout as rows (pods, where TLS ends, Redis, autoscaling); null for an AWS stack. */
function kubernetesRows(report: StackReport): string[][] | null {
  const pods = report.layout.pods;
  if (!pods) return null;
  const range = (r: { min: number; max: number }) => (r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`);
  const size = (pod: NonNullable<(typeof pods)['agent']>) => {
    const cpu = pod.containers.reduce((a, c) => a + c.requests.cpu, 0);
    const mem = pod.containers.reduce((a, c) => a + c.requests.memoryGiB, 0);
    return `${Number(cpu.toFixed(3))} vCPU / ${Number(mem.toFixed(3))} GiB requested, grace ${pod.terminationGracePeriodSeconds} s`;
  };
  const scaling = (role: 'livekit' | 'agent') => {
    const a = report.layout.autoscaling.find((x) => x.role === role);
    return a ? `; scales ${range(a.replicas)} on ${a.signals.map((s) => (s.metric === 'cpu' ? `CPU ${s.target}%` : `${s.metric} ${s.target}/replica`)).join(' and ')}` : '';
  };
  const rows: string[][] = [];
  if (pods.livekit) rows.push(['LiveKit', `${range(pods.livekit.replicas)} pod(s), one per ${report.livekit.instanceType} node (host network): ${size(pods.livekit)}${scaling('livekit')}`]);
  if (pods.agent) rows.push(['agents', `${range(pods.agent.replicas)} pod(s), ${report.agents.sessionsPerWorker} sessions each on ${report.agents.instanceType} nodes: ${size(pods.agent)}${scaling('agent')}`]);
  if (pods.queue) rows.push(['intake+dispatcher', `${range(pods.queue.replicas)} pod(s): ${size(pods.queue)}`]);
  rows.push(['Redis', pods.redis ? `in the cluster (StatefulSet): ${size(pods.redis)}` : 'external (kubernetes.redisUrl, TLS)']);
  rows.push(['TLS', `signalling: ${report.layout.tls.signalling === 'cluster-proxy' ? 'TLS proxy pods' : report.layout.tls.signalling}; TURN/TLS: ${report.layout.tls.turn === 'livekit' ? 'LiveKit with the certificate' : report.layout.tls.turn}; ${report.layout.loadBalancers.length} LoadBalancer Services`]);
  return rows;
}
