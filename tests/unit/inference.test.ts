/**
 * Self-hosted inference: the config section's refusals, the GPU sizing (min at the busy hour, max
 * at the spike, growing with minutes, with headroom), the GPU cost (never $0) and the break-even
 * per model against its hosted fallback.
 */
import { DEFAULT_CATALOG, price } from '@voice-agent-infra/common';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseStackConfig, type StackConfigInput } from '../../components/config.js';
import {
  compareInference,
  hostedUsdPerCall,
  inferenceServerLines,
  localMonthlyUsdAt,
  sessionsAt,
  stableBreakEvenMinutes,
} from '../../components/cost/inference-cost.js';
import { expectedAverage, HOURS_PER_MONTH, priceDeployment } from '../../components/cost/price-deployment.js';
import { gpusForSessions, type InferenceServerPlan, type LlmServerPlan } from '../../components/inference/plan.js';
import { planDeployment } from '../../components/plan/plan.js';
import { buildStackReport } from '../../components/report.js';
import { localVariantValues, parseLocalFlag } from '../../scripts/lib/cost-local.js';
import { formatPlan } from '../../scripts/lib/plan-format.js';
import { stackImages } from '../../scripts/lib/stack-images.js';
import { EXAMPLE_STACKS, exampleConfig } from '../pulumi/helpers.js';

const ALL_LOCAL = { llm: 'local', stt: 'local', tts: 'local' } as const;
const plan = (values: StackConfigInput) => planDeployment(parseStackConfig(values as Record<string, unknown>));
const localPlan = (monthlyMinutes: number, extra: Record<string, unknown> = {}) => plan({ monthlyMinutes, providers: { ...ALL_LOCAL }, ...extra });

/** A Kubernetes stack with KEDA and every model local (raw values). */
function scaledValues() {
  return {
    monthlyMinutes: 250_000,
    target: 'kubernetes',
    providers: { ...ALL_LOCAL },
    kubernetes: { domain: 'voice.example.com', tls: { secretName: 'tls' }, agentImage: 'r/a:1', nodeCidrs: ['10.0.0.0/16'], redisUrl: 'rediss://r:6379', keda: true },
  };
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('no ConfigError thrown');
}

describe('the inference config section', () => {
  it('plans nothing for hosted providers, and a server per model set to local', () => {
    expect(plan({ monthlyMinutes: 50_000 }).inference).toEqual({});
    expect(Object.keys(plan({ monthlyMinutes: 50_000, providers: { llm: 'local' } }).inference)).toEqual(['llm']);
    expect(Object.keys(plan({ monthlyMinutes: 50_000, providers: { complexLlm: 'local' } }).inference)).toEqual(['llm']);
    expect(Object.keys(localPlan(50_000).inference).sort()).toEqual(['llm', 'stt', 'tts']);
  });

  it('defaults: a pinned vLLM with tool calling for an ungated 8B-class model on g6.xlarge, speaches and Kokoro', () => {
    const { llm, stt, tts } = localPlan(50_000).inference;
    expect(llm).toMatchObject({ model: 'Qwen/Qwen2.5-7B-Instruct', image: 'vllm/vllm-openai:v0.25.0', instanceType: 'g6.xlarge', gpu: 'NVIDIA L4', port: 8000, healthPath: '/health' });
    expect(llm!.server.args).toEqual(expect.arrayContaining(['--enable-auto-tool-choice', '--tool-call-parser', 'hermes', '--max-model-len', '8192', '--max-num-seqs', '16']));
    expect((llm as LlmServerPlan).parallelToolCalls).toBe(true);
    expect(stt).toMatchObject({ image: 'ghcr.io/speaches-ai/speaches:0.8.3-cuda', port: 8000 });
    expect(stt!.server.environment).toEqual({ PRELOAD_MODELS: '["deepdml/faster-whisper-large-v3-turbo-ct2"]', STT_MODEL_TTL: '-1' });
    expect(tts).toMatchObject({ image: 'ghcr.io/remsky/kokoro-fastapi-gpu:v0.8.0', port: 8880, model: 'kokoro' });
  });

  it('Llama 3 (llama3_json) turns parallel tool calls off and needs its chat template', () => {
    const llama = { model: 'meta-llama/Llama-3.1-8B-Instruct', toolCallParser: 'llama3_json' as const, weightsGiB: 15, kvCacheKiBPerToken: 128 };
    const error = configError(() => plan({ monthlyMinutes: 50_000, providers: { llm: 'local' }, inference: { llm: llama } }));
    expect(error.key).toBe('inference.llm.chatTemplate');
    expect(error.message).toMatch(/is required with toolCallParser llama3_json.*tool_chat_template_llama3\.1_json\.jinja/);
    const p = plan({ monthlyMinutes: 50_000, providers: { llm: 'local' }, inference: { llm: { ...llama, chatTemplate: 'examples/tool_chat_template_llama3.1_json.jinja' } } });
    const server = p.inference.llm as LlmServerPlan;
    expect(server.parallelToolCalls).toBe(false);
    expect(server.server.args).toEqual(expect.arrayContaining(['--tool-call-parser', 'llama3_json', '--chat-template', 'examples/tool_chat_template_llama3.1_json.jinja']));
  });

  it.each([
    [{ inference: { llm: { gpus: 2 } } }, 'inference.llm.gpus', /unknown key; allowed here: model, image, toolCallParser/],
    [{ inference: { llm: { instanceType: 'p5.48xlarge' } } }, 'inference.llm.instanceType', /must be one of: g4dn\.xlarge, g5\.xlarge/],
    [{ inference: { llm: { toolCallParser: 'pythonic' } } }, 'inference.llm.toolCallParser', /must be one of: hermes, llama3_json, mistral/],
    [{ inference: { llm: { targetUtilization: 0 } } }, 'inference.llm.targetUtilization', /must be > 0/],
    [{ inference: { llm: { prefixCacheHitShare: 1.5 } } }, 'inference.llm.prefixCacheHitShare', /must be at most 1/],
    [{ inference: { stt: { audioSecondsPerGpuSecond: 'fast' } } }, 'inference.stt.audioSecondsPerGpuSecond', /must be a number/],
    [{ inference: { tts: { hostedFallback: 'local' } } }, 'inference.tts.hostedFallback', /must be one of: cartesia-sonic/],
    [{ inference: { amiId: 'ubuntu' } }, 'inference.amiId', /must be an AMI id/],
  ])('refuses %j naming the key', (extra, key, message) => {
    const error = configError(() => parseStackConfig({ monthlyMinutes: 50_000, ...extra }));
    expect(error.key).toBe(key);
    expect(error.message).toMatch(message);
  });

  it('accepts numbers as text (pulumi config set --path)', () => {
    const config = parseStackConfig({ monthlyMinutes: 50_000, inference: { llm: { concurrency: '8', outputTokensPerSecond: '250.5' } } });
    expect([config.inference.llm.concurrency, config.inference.llm.outputTokensPerSecond]).toEqual([8, 250.5]);
  });

  it('refuses what the GPU or the server would refuse, naming the key', () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ llm: { image: 'vllm/vllm-openai:latest' } }, 'inference.llm.image', /pinned by tag or digest/],
      // T4: 16 GiB x 0.9 = 14.4 GiB for vLLM, the weights take 15.
      [{ llm: { instanceType: 'g4dn.xlarge', weightsGiB: 15 } }, 'inference.llm.instanceType', /holds 14\.4 GiB for vLLM .* the weights .* do not fit/],
      // A call's last turn (system prompt + 23 turns of history) is longer than 2048 tokens.
      [{ llm: { maxModelLen: 2048 } }, 'inference.llm.maxModelLen', /is shorter than a call's last turn \(3700 tokens/],
      [{ llm: { maxModelLen: 131_072 } }, 'inference.llm.maxModelLen', /GiB of KV cache .* vLLM would refuse to start/],
      [{ llm: { concurrency: 1000 } }, 'inference.llm.concurrency', /1000 requests of ~\d+ tokens need .* GiB of KV cache/],
    ];
    for (const [inference, key, message] of cases) {
      const error = configError(() => plan({ monthlyMinutes: 50_000, providers: { llm: 'local' }, inference }));
      expect(error.key, key).toBe(key);
      expect(error.message, key).toMatch(message);
    }
  });
});

describe('GPU sizing', () => {
  it('min at the busy hour, max at the spike: the GPUs the sessions need at each, filled to the target', () => {
    const p = localPlan(250_000);
    for (const server of Object.values(p.inference)) {
      expect(server.gpus.min, server.modality).toBe(gpusForSessions(server.sizing, p.capacity.busyHour.sessions));
      expect(server.gpus.max, server.modality).toBe(gpusForSessions(server.sizing, p.capacity.spike.sessions));
      expect(server.gpuLoad.busyHour).toBeCloseTo(p.capacity.busyHour.sessions * server.sizing.gpuSecondsPerSession, 5);
      expect(server.gpus.min).toBeGreaterThanOrEqual(Math.ceil(server.gpuLoad.busyHour / server.sizing.targetUtilization - 1e-9));
      expect(server.gpus.max).toBeGreaterThan(server.gpus.min); // the spike (4x) needs more than the busy hour here
    }
  });

  it("the LLM's load is its tokens over the GPU's throughput: output / output rate + uncached prompt / prefill rate", () => {
    const p = localPlan(100_000, { providers: { llm: 'local' } });
    const local = p.usagePerCall.llm.filter((m) => m.model === 'local');
    const [input, output] = [local.reduce((a, m) => a + m.inputTokens, 0), local.reduce((a, m) => a + m.outputTokens, 0)];
    const callSeconds = 4 * 60;
    expect(p.inference.llm!.sizing.gpuSecondsPerSession).toBeCloseTo((output / 400 + (input * (1 - 0.8)) / 3000) / callSeconds, 9);
  });

  it('GPUs grow with minutes, never shrink', () => {
    let previous = { llm: 0, stt: 0, tts: 0 } as Record<string, number>;
    for (const minutes of [20_000, 50_000, 100_000, 250_000, 500_000, 1_000_000]) {
      const p = localPlan(minutes);
      for (const server of Object.values(p.inference)) {
        expect(server.gpus.max, `${server.modality} at ${minutes}`).toBeGreaterThanOrEqual(previous[server.modality]!);
        previous = { ...previous, [server.modality]: server.gpus.max };
      }
    }
    const [small, huge] = [localPlan(20_000), localPlan(1_000_000)];
    for (const m of ['llm', 'stt', 'tts'] as const) expect(huge.inference[m]!.gpus.max, m).toBeGreaterThan(small.inference[m]!.gpus.max);
  });

  it('headroom: a lower target utilisation plans more GPUs; minGpus is the floor', () => {
    const tight = localPlan(500_000, { inference: { stt: { targetUtilization: 1 } } }).inference.stt!;
    const roomy = localPlan(500_000, { inference: { stt: { targetUtilization: 0.5 } } }).inference.stt!;
    expect(roomy.gpus.max).toBeGreaterThanOrEqual(2 * tight.gpus.max - 1);
    expect(localPlan(5_000, { inference: { tts: { minGpus: 2 } } }).inference.tts!.gpus).toEqual({ min: 2, max: 2 });
  });

  it('AWS always autoscales the GPU groups; Kubernetes only with KEDA and a Prometheus, else it runs (and prices) the spike size and says so', () => {
    expect(localPlan(250_000).inference.llm).toMatchObject({ autoscaled: true });
    const k8s = (extra: Record<string, unknown>) =>
      localPlan(250_000, { target: 'kubernetes', kubernetes: { domain: 'voice.example.com', tls: { secretName: 'tls' }, agentImage: 'r/a:1', nodeCidrs: ['10.0.0.0/16'], redisUrl: 'rediss://r:6379', ...extra } });
    const fixed = k8s({});
    const llm = fixed.inference.llm!;
    expect(llm.gpus.min).toBeLessThan(llm.gpus.max);
    expect([llm.autoscaled, llm.replicas]).toEqual([false, { min: llm.gpus.max, max: llm.gpus.max }]);
    expect(fixed.warnings).toContain(`the local LLM runs ${llm.gpus.max} GPUs (its spike size) all month, not ${llm.gpus.min}-${llm.gpus.max}: on Kubernetes the servers scale only through KEDA (kubernetes.keda) and a Prometheus (inference.prometheusUrl)`);
    const scaled = k8s({ keda: true });
    expect(scaled.inference.llm!.autoscaled).toBe(false);
    const withPrometheus = planDeployment(parseStackConfig({ ...structuredClone(scaledValues()), inference: { prometheusUrl: 'http://prometheus.monitoring.svc:9090' } }));
    expect(withPrometheus.inference.llm).toMatchObject({ autoscaled: true, replicas: withPrometheus.inference.llm!.gpus });
    const error = configError(() => planDeployment(parseStackConfig({ ...scaledValues(), kubernetes: { ...scaledValues().kubernetes, keda: false }, inference: { prometheusUrl: 'http://prometheus:9090' } }))).key;
    expect(error).toBe('inference.prometheusUrl');
  });

  it('the LLM needs a request slot per request in flight, not only GPU time', () => {
    // A fast GPU (huge throughput) still serves only `concurrency` requests at once.
    const p = localPlan(250_000, { inference: { llm: { outputTokensPerSecond: 1e9, prefillTokensPerSecond: 1e9, concurrency: 1 } } });
    const llm = p.inference.llm!;
    expect(llm.sizing.requestsInFlightPerSession).toBeGreaterThan(0);
    expect(llm.gpus.max).toBe(Math.ceil((p.capacity.spike.sessions * llm.sizing.requestsInFlightPerSession!) / 0.7 - 1e-9));
  });
});

describe('GPU cost and break-even', () => {
  it('no stack prices a local model at $0 infrastructure: every local model has GPU lines, priced from the catalog', () => {
    for (const stack of [...EXAMPLE_STACKS, 'k8s-mid'] as const) {
      const config = exampleConfig(stack);
      const p = planDeployment({ ...config, providers: { ...config.providers, ...ALL_LOCAL } });
      const cost = priceDeployment(p, DEFAULT_CATALOG);
      for (const server of Object.values(p.inference)) {
        const gpu = cost.lines.find((l) => l.priceKey === `aws.ec2.${server.instanceType}` && l.item.includes(`local ${server.modality.toUpperCase()}`))!;
        expect(gpu, `${stack} ${server.modality}`).toBeDefined();
        expect(gpu.monthlyUsd).toBeGreaterThan(0);
        expect(gpu.monthlyUsd).toBeCloseTo(expectedAverage(server.replicas, p.costInputs.expectedScaleOutShare) * HOURS_PER_MONTH * price(DEFAULT_CATALOG, `aws.ec2.${server.instanceType}`), 6);
      }
      // Per-token and per-minute, the local models cost nothing: only the hosted complex model and telephony remain.
      expect(cost.lines.filter((l) => l.category === 'providers' && /local/.test(l.item)).every((l) => l.monthlyUsd === 0)).toBe(true);
    }
  });

  it('a GPU price override in the stack config changes the GPU line', () => {
    const base = priceDeployment(localPlan(50_000), DEFAULT_CATALOG);
    const cheaper = priceDeployment(localPlan(50_000, { pricing: { 'aws.ec2.g6.xlarge': 0.4 } }), DEFAULT_CATALOG);
    expect(cheaper.infraMonthlyUsd).toBeLessThan(base.infraMonthlyUsd);
    expect(cheaper.lines.find((l) => l.item.startsWith('EC2 g6.xlarge GPU (local LLM'))!.unitUsd).toBe(0.4);
  });

  it('the break-even is the volume from which local stays cheaper than the hosted provider', () => {
    // Local TTS against ElevenLabs Multilingual ($100 per 1M characters) pays from some volume on.
    const p = localPlan(100_000, { providers: { tts: 'local' }, inference: { tts: { hostedFallback: 'elevenlabs-multilingual' } } });
    const [tts] = compareInference(p, DEFAULT_CATALOG);
    const server = p.inference.tts!;
    const saving = (m: number) => (hostedUsdPerCall(p, server, DEFAULT_CATALOG) / 4) * m - localMonthlyUsdAt(p, server, DEFAULT_CATALOG, m);
    expect(tts!.breakEvenMinutes).toBeGreaterThan(0);
    const at = tts!.breakEvenMinutes!;
    expect(saving(at)).toBeGreaterThanOrEqual(0);
    expect(saving(at - 1)).toBeLessThan(0);
    for (const m of [at * 1.3, at * 2, at * 10, 5e7]) expect(saving(m), `${m}`).toBeGreaterThanOrEqual(0);
  });

  it('local costing more at the stack volume is a warning; a hosted model cheaper at any volume is "never"', () => {
    // gpt-4o-mini at $0.15/$0.60 per 1M tokens against one L4 at the default planning inputs.
    const config = parseStackConfig({ monthlyMinutes: 50_000, providers: { llm: 'local' } });
    const { report } = buildStackReport('t', config);
    const [llm] = report.cost.inference;
    expect(llm).toMatchObject({ modality: 'llm', hosted: 'gpt-4o-mini', localCostsMore: true, breakEvenMinutes: null });
    expect(report.warnings).toContain(
      `the local LLM (Qwen/Qwen2.5-7B-Instruct on 1 x g6.xlarge) costs $${Math.round(llm!.localMonthlyUsd).toLocaleString('en-US')}/month at 50,000 minutes; hosted gpt-4o-mini would cost $${Math.round(llm!.hostedMonthlyUsd).toLocaleString('en-US')}; local does not break even below 100 million minutes a month`,
    );
    // Against gpt-4o, the same GPUs pay from a finite volume, and the warning names it.
    const strong = buildStackReport('t', parseStackConfig({ monthlyMinutes: 10_000, providers: { llm: 'local' }, inference: { llm: { hostedFallback: 'gpt-4o' } } })).report;
    expect(strong.cost.inference[0]!.breakEvenMinutes).toBeGreaterThan(0);
    expect(strong.warnings.find((w) => w.startsWith('the local LLM'))).toMatch(/local breaks even from [\d,]+ minutes a month$/);
  });

  it('the managed platforms are priced with the hosted models a platform would run, not the local ones at $0', () => {
    const hosted = buildStackReport('h', parseStackConfig({ monthlyMinutes: 50_000 })).report;
    const local = buildStackReport('l', parseStackConfig({ monthlyMinutes: 50_000, providers: { ...ALL_LOCAL }, inference: { tts: { hostedFallback: 'cartesia-sonic' } } })).report;
    for (const platform of ['Vapi', 'Retell', 'LiveKit Cloud']) {
      expect(local.cost.managed.find((m) => m.platform === platform)!.monthlyUsd, platform).toBeCloseTo(hosted.cost.managed.find((m) => m.platform === platform)!.monthlyUsd, 6);
    }
  });

  it('the server lines: GPU group, root volumes, addresses, internal load balancer, metrics, cross-zone traffic (AWS); GPU nodes and volumes (Kubernetes)', () => {
    const aws = localPlan(100_000, { providers: { llm: 'local' } });
    expect(inferenceServerLines(aws, aws.inference.llm!, DEFAULT_CATALOG).map((l) => l.priceKey)).toEqual([
      'aws.ec2.g6.xlarge',
      'aws.ebs.gp3.gb-month',
      'aws.ipv4.hour',
      'aws.nlb.hour',
      'aws.nlb.nlcu-hour',
      'aws.cloudwatch.metric-month',
      'aws.data-transfer.cross-az.gb',
    ]);
    const k8s = plan({ monthlyMinutes: 20_000, target: 'kubernetes', providers: { llm: 'local' }, kubernetes: { domain: 'voice.example.com', tls: { secretName: 'tls' }, agentImage: 'r/a:1', nodeCidrs: ['10.0.0.0/16'] } });
    expect(inferenceServerLines(k8s, k8s.inference.llm!, DEFAULT_CATALOG).map((l) => l.priceKey)).toEqual(['aws.ec2.g6.xlarge', 'aws.ebs.gp3.gb-month']);
  });

  it('re-plans sessions at another volume with the same traffic shape', () => {
    const p = localPlan(100_000);
    expect(sessionsAt(p, 100_000)).toEqual({ busyHour: p.capacity.busyHour.sessions, spike: p.capacity.spike.sessions });
    expect(sessionsAt(p, 400_000).spike).toBeGreaterThan(p.capacity.spike.sessions * 3);
  });

  it('stableBreakEvenMinutes: the crossing after the last loss of a saw-tooth, 0 when never a loss, null when still a loss at the limit', () => {
    // Saving climbs 1 per minute, but a new GPU at 10,000 minutes costs 12,000: losses below 1,000 and again from 10,000 to 13,000.
    const sawTooth = (m: number) => m - 1000 - (m >= 10_000 ? 12_000 : 0);
    const breakEven = stableBreakEvenMinutes(sawTooth, 1e6);
    // Not the first crossing at 1,000: local costs more again from 10,000.
    expect(breakEven).toBe(13_000);
    expect(stableBreakEvenMinutes(() => 1)).toBe(0);
    expect(stableBreakEvenMinutes(() => -1)).toBeNull();
  });
});

describe('npm run cost --local: the variant', () => {
  it('serves the named models locally and compares with the providers the stack pays today', () => {
    const values = { monthlyMinutes: 250_000, providers: { llm: 'gpt-4.1-mini', tts: 'elevenlabs-flash' }, inference: { stt: { hostedFallback: 'deepgram-nova-3' } } };
    const variant = localVariantValues(values, ['llm', 'tts']);
    expect(variant.providers).toEqual({ llm: 'local', tts: 'local' });
    expect(variant.inference).toEqual({ llm: { hostedFallback: 'gpt-4.1-mini' }, tts: { hostedFallback: 'elevenlabs-flash' }, stt: { hostedFallback: 'deepgram-nova-3' } });
    // A fallback the stack file names is kept; the stack's own values are not changed.
    expect(localVariantValues({ ...values, inference: { llm: { hostedFallback: 'gpt-4o' } } }, ['llm']).inference).toEqual({ llm: { hostedFallback: 'gpt-4o' } });
    expect(values.providers.llm).toBe('gpt-4.1-mini');
    expect(parseLocalFlag('tts, llm,llm')).toEqual(['llm', 'tts']);
  });

  it('npm run check:images lists the local servers\' pinned images with the key that sets them', () => {
    const config = exampleConfig('mid');
    const local = { ...config, providers: { ...config.providers, ...ALL_LOCAL } };
    const images = stackImages(local, planDeployment(local)).filter((i) => i.role.startsWith('local'));
    expect(images).toEqual([
      { role: 'local LLM server (inference.llm.image)', image: 'vllm/vllm-openai:v0.25.0' },
      { role: 'local STT server (inference.stt.image)', image: 'ghcr.io/speaches-ai/speaches:0.8.3-cuda' },
      { role: 'local TTS server (inference.tts.image)', image: 'ghcr.io/remsky/kokoro-fastapi-gpu:v0.8.0' },
    ]);
    expect(stackImages(config, planDeployment(config)).some((i) => i.role.startsWith('local'))).toBe(false);
  });

  it('npm run plan shows the local models\' GPU servers (and nothing of the kind for hosted models)', () => {
    const config = exampleConfig('large');
    const local = buildStackReport('large', { ...config, providers: { ...config.providers, llm: 'local' } }).report;
    const text = formatPlan(local);
    expect(text).toContain('Local models (GPU servers)');
    expect(text).toMatch(new RegExp(`LLM\\s+Qwen/Qwen2\\.5-7B-Instruct on g6\\.xlarge \\(NVIDIA L4\\) x ${local.inference.llm!.gpus.min}-${local.inference.llm!.gpus.max}; scales on requests-per-gpu`));
    expect(formatPlan(buildStackReport('large', config).report)).not.toContain('Local models');
  });

  it('the example stacks plan and price with every model local', () => {
    for (const stack of EXAMPLE_STACKS) {
      const config = exampleConfig(stack);
      const report = buildStackReport(stack, { ...config, providers: { ...config.providers, ...ALL_LOCAL } }).report;
      expect(Object.keys(report.inference).sort(), stack).toEqual(['llm', 'stt', 'tts']);
      expect(report.cost.inference.every((c) => c.localMonthlyUsd > 0)).toBe(true);
    }
  });
});

// The servers' plan is data the AWS and Kubernetes components build from: keep its shape honest.
export type { InferenceServerPlan };
