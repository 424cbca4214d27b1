/**
 * The GPU node's user data: what cloud-init writes (schema-valid, no secret), and its two scripts
 * run for real with bash against stand-ins: drain.sh against the IMDSv2 stand-in (a termination
 * waits for the open requests, stops the server, completes the lifecycle action), and
 * publish-metrics.sh against a vLLM /metrics page and a stubbed nvidia-smi.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FakeImds } from '../../agent/src/dev/fake-imds.js';
import { parseStackConfig } from '../../components/config.js';
import {
  INFERENCE_FILES,
  INFERENCE_METRICS,
  type InferenceNodeArgs,
  inferenceCloudInitConfig,
  renderDrainScript,
  renderInferenceCloudInit,
  renderMetricsScript,
} from '../../components/inference/cloud-init.js';
import type { InferenceServerPlan } from '../../components/inference/plan.js';
import { planDeployment } from '../../components/plan/plan.js';
import { findSecretMaterial } from '../../components/policy/policies.js';

const plan = planDeployment(parseStackConfig({ monthlyMinutes: 100_000, providers: { llm: 'local', stt: 'local', tts: 'local' } }));
const nodeArgs = (server: InferenceServerPlan): InferenceNodeArgs => ({ server, stack: 'mid', metricsNamespace: 'VoiceAgent', region: 'us-east-1', logGroupName: '/voice-agent/mid' });

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'inference-node-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A stub command that appends its arguments (one call per line) to <dir>/<name>.log and prints <dir>/<name>.out. */
function stub(dir: string, name: string): void {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/bash\necho "$*" >> "${dir}/${name}.log"\n[[ -f "${dir}/${name}.out" ]] && cat "${dir}/${name}.out"\nexit 0\n`);
  chmodSync(path, 0o755);
}

const logOf = (dir: string, name: string) => (existsSync(join(dir, `${name}.log`)) ? readFileSync(join(dir, `${name}.log`), 'utf8') : '');

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the inference node user data', () => {
  it('is cloud-init schema valid, carries no secret, and enables the server, the drain watcher and the metrics timer', () => {
    for (const server of Object.values(plan.inference)) {
      const text = renderInferenceCloudInit(nodeArgs(server));
      const dir = tempDir();
      writeFileSync(join(dir, 'user-data.yaml'), text);
      const schema = spawnSync('cloud-init', ['schema', '--config-file', join(dir, 'user-data.yaml')], { encoding: 'utf8' });
      expect(schema.status, `${schema.stdout}${schema.stderr}`).toBe(0);
      expect(findSecretMaterial(text)).toBeNull();
      const config = inferenceCloudInitConfig(nodeArgs(server));
      expect((config.runcmd as string[][]).at(-1)).toEqual(['systemctl', 'enable', '--now', 'voice-agent-inference.service', 'voice-agent-inference-drain.service', 'voice-agent-inference-metrics.timer']);
      const compose = parse((config.write_files as Array<{ path: string; content: string }>).find((f) => f.path === INFERENCE_FILES.compose)!.content) as { services: { server: Record<string, unknown> } };
      expect(compose.services.server.logging).toMatchObject({ driver: 'awslogs', options: { 'awslogs-group': '/voice-agent/mid', 'awslogs-region': 'us-east-1' } });
    }
  });

  it('refuses a stack name that would break the scripts, and a bad region', () => {
    const server = plan.inference.llm!;
    expect(() => renderInferenceCloudInit({ ...nodeArgs(server), stack: "mid'; rm -rf /" })).toThrow(/stack must be letters, digits/);
    expect(() => renderInferenceCloudInit({ ...nodeArgs(server), region: 'east' })).toThrow(/region must be an AWS region/);
  });
});

describe('drain.sh (bash, against the IMDSv2 stand-in)', () => {
  async function startDrain(server: InferenceServerPlan) {
    const dir = tempDir();
    const imds = new FakeImds({ items: { 'instance-id': 'i-0123456789abcdef0', 'tags/instance/aws:autoscaling:groupName': 'voice-inference-llm-1234567' } });
    imds.setTargetLifecycleState('InService');
    const endpoint = await imds.start();
    cleanups.push(() => imds.stop());
    for (const name of ['aws', 'docker', 'ss']) stub(dir, name);
    const script = join(dir, 'drain.sh');
    writeFileSync(script, renderDrainScript(nodeArgs(server)));
    chmodSync(script, 0o755);
    const child: ChildProcess = spawn('bash', [script], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, IMDS_ENDPOINT: endpoint, DRAIN_POLL_SECONDS: '0.2' }, stdio: 'ignore' });
    cleanups.push(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { dir, imds, child, exited };
  }

  it('in service: nothing happens; terminating: waits for the open requests, stops the server, completes the lifecycle action, exits', async () => {
    const server = plan.inference.llm!;
    const { dir, imds, child, exited } = await startDrain(server);
    writeFileSync(join(dir, 'ss.out'), 'ESTAB 0 0 10.0.1.5:8000 10.0.2.9:51234\n');
    await waitFor(() => imds.tokensIssued >= 3, 'a few polls of the lifecycle state');
    expect(logOf(dir, 'docker')).toBe('');
    expect(logOf(dir, 'aws')).toBe('');

    imds.setTargetLifecycleState('Terminated');
    await waitFor(() => logOf(dir, 'ss').split('\n').filter(Boolean).length >= 3, 'the watcher counting open connections');
    // A request is still open: the server keeps serving it.
    expect(logOf(dir, 'docker')).toBe('');
    expect(logOf(dir, 'ss')).toContain("-Htn state established ( sport = :8000 )");

    rmSync(join(dir, 'ss.out'));
    expect(await exited).toBe(0);
    expect(logOf(dir, 'docker').trim()).toBe(`compose --file ${INFERENCE_FILES.compose} stop server`);
    expect(logOf(dir, 'aws').trim()).toBe(
      "autoscaling complete-lifecycle-action --region us-east-1 --lifecycle-hook-name voice-agent-drain --auto-scaling-group-name voice-inference-llm-1234567 --instance-id i-0123456789abcdef0 --lifecycle-action-result CONTINUE",
    );
    expect(child.exitCode).toBe(0);
  });

  it('stops the server anyway when the drain time runs out with requests still open', async () => {
    const server = { ...plan.inference.tts!, drainSeconds: 2 };
    const { dir, imds, exited } = await startDrain(server);
    writeFileSync(join(dir, 'ss.out'), 'ESTAB 0 0 10.0.1.5:8880 10.0.2.9:51234\n');
    imds.setTargetLifecycleState('Terminated');
    expect(await exited).toBe(0);
    expect(logOf(dir, 'docker')).toContain('stop server');
    expect(logOf(dir, 'aws')).toContain('complete-lifecycle-action');
  });
});

describe('publish-metrics.sh (bash, against a vLLM /metrics page)', () => {
  async function metricsPage(text: string | null): Promise<number> {
    const server: Server = createServer((req, res) => {
      if (text === null || req.url !== '/metrics') res.writeHead(503).end();
      else res.writeHead(200, { 'content-type': 'text/plain' }).end(text);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return (server.address() as AddressInfo).port;
  }

  // Asynchronous: the /metrics page is served by this process, which must keep answering while the script runs.
  async function run(server: InferenceServerPlan): Promise<{ dir: string; data: Array<Record<string, unknown>> }> {
    const dir = tempDir();
    stub(dir, 'aws');
    stub(dir, 'nvidia-smi');
    writeFileSync(join(dir, 'nvidia-smi.out'), '37\n41\n');
    const script = join(dir, 'publish-metrics.sh');
    writeFileSync(script, renderMetricsScript(nodeArgs(server)));
    const child = spawn('bash', [script], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(status, stderr).toBe(0);
    const call = logOf(dir, 'aws').trim();
    expect(call).toMatch(/^cloudwatch put-metric-data --region us-east-1 --namespace VoiceAgent --metric-data /);
    return { dir, data: JSON.parse(call.replace(/^.*--metric-data /, '')) as Array<Record<string, unknown>> };
  }

  it("LLM: GPU utilisation (the GPUs' average) and vLLM's running + waiting requests, with the Stack and Modality dimensions", async () => {
    const port = await metricsPage(
      [
        '# HELP vllm:num_requests_running Number of requests in model execution batches.',
        '# TYPE vllm:num_requests_running gauge',
        'vllm:num_requests_running{engine="0",model_name="Qwen/Qwen2.5-7B-Instruct"} 7.0',
        'vllm:num_requests_waiting{engine="0",model_name="Qwen/Qwen2.5-7B-Instruct"} 3.0',
        'vllm:num_requests_swapped{engine="0",model_name="Qwen/Qwen2.5-7B-Instruct"} 9.0',
      ].join('\n'),
    );
    const { data } = await run({ ...plan.inference.llm!, port });
    const dimensions = [
      { Name: 'Stack', Value: 'mid' },
      { Name: 'Modality', Value: 'llm' },
    ];
    expect(data).toEqual([
      { MetricName: INFERENCE_METRICS.gpuUtilization, Unit: 'Percent', Value: 39, Dimensions: dimensions },
      { MetricName: INFERENCE_METRICS.requests, Unit: 'Count', Value: 10, Dimensions: dimensions },
    ]);
  });

  it('a server that does not answer its /metrics publishes no request count (no datapoint, not zero)', async () => {
    const port = await metricsPage(null);
    const { data } = await run({ ...plan.inference.llm!, port });
    expect(data.map((d) => d.MetricName)).toEqual([INFERENCE_METRICS.gpuUtilization]);
  });

  it('STT and TTS: GPU utilisation only', async () => {
    for (const server of [plan.inference.stt!, plan.inference.tts!]) {
      const { data } = await run(server);
      expect(data).toEqual([{ MetricName: INFERENCE_METRICS.gpuUtilization, Unit: 'Percent', Value: 39, Dimensions: [{ Name: 'Stack', Value: 'mid' }, { Name: 'Modality', Value: server.modality }] }]);
    }
  });
});
