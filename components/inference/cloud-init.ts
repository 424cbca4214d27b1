/**
 * User data of a GPU inference instance, pure: `#cloud-config` that runs one model server in
 * docker compose on the GPU, publishes what the autoscaler follows, and drains the server before
 * the group terminates the instance. No secret: the models are public, the instance role does the rest.
 *
 * Target: the Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04), GPU_AMI below, which
 * ships the NVIDIA driver, Docker with the compose plugin and the NVIDIA Container Toolkit (AWS
 * DLAMI release notes: nvidia_container_toolkit_version, docker-compose-plugin), so nothing is
 * installed at boot but the AWS CLI when the image lacks it.
 *
 * - compose: the server with the GPU reserved (`deploy.resources.reservations.devices`, the
 *   compose form of `docker run --gpus all`), host networking, vLLM's `--ipc=host` (its docs'
 *   docker example: PyTorch shares memory between processes), container logs to CloudWatch.
 * - metrics (every minute, a systemd timer): GPU utilisation from nvidia-smi and, for vLLM, the
 *   running + waiting requests of its /metrics, put into CloudWatch per instance, averaged by the
 *   group's target tracking policy.
 * - drain (a service polling IMDSv2): when the group terminates the instance (the termination
 *   hook holds it in Terminating:Wait, target lifecycle state `Terminated`), wait until no
 *   connection is open on the server port or drainSeconds have passed, stop the server, complete
 *   the lifecycle action.
 */
import { gzipSync } from 'node:zlib';
import { DRAIN_HOOK_NAME } from '../livekit/layout.js';
import { toYamlText } from '../livekit/yaml-text.js';
import type { InferenceServerPlan, Modality } from './plan.js';

/**
 * The GPU AMI: AWS's public SSM parameter of the Deep Learning Base OSS Nvidia Driver GPU AMI
 * (Ubuntu 22.04), x86_64. The naming rule drops "deep", "learning" and "ami" from the AMI name
 * (docs.aws.amazon.com/dlami/latest/devguide/find-dlami-id.html); public code uses the "-gpu-"
 * form. Verify with `aws ssm get-parameter --name <this>` before the first deploy.
 */
export const GPU_AMI = {
  description: 'Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04)',
  ssmParameter: '/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id',
  architecture: 'x86_64',
} as const;

/** Where the node keeps its files. */
export const INFERENCE_DIR = '/opt/voice-agent-inference';
export const INFERENCE_FILES = {
  compose: `${INFERENCE_DIR}/compose.yaml`,
  metricsScript: `${INFERENCE_DIR}/publish-metrics.sh`,
  drainScript: `${INFERENCE_DIR}/drain.sh`,
  /** Hugging Face cache of the LLM server on the root volume: a restarted container does not download again. */
  modelCache: '/var/lib/voice-agent-inference/huggingface',
} as const;
export const INFERENCE_UNITS = {
  server: 'voice-agent-inference.service',
  metrics: 'voice-agent-inference-metrics',
  drain: 'voice-agent-inference-drain.service',
} as const;
export const INFERENCE_COMPOSE_PROJECT = 'voice-agent-inference';

/** CloudWatch metric names the instances publish (dimensions Stack and Modality). */
export const INFERENCE_METRICS = {
  requests: 'InferenceRequests',
  gpuUtilization: 'InferenceGpuUtilization',
} as const;

/** Seconds a server may take to load its model before its health check counts (weights download and load). */
export const MODEL_LOAD_SECONDS = 900;

export interface InferenceNodeArgs {
  /** The server to run (the plan's). */
  server: InferenceServerPlan;
  /** Stack name: the metrics' Stack dimension. */
  stack: string;
  /** CloudWatch namespace of the stack's metrics. */
  metricsNamespace: string;
  /** The stack's region (metrics, logs, the lifecycle call). */
  region: string;
  /** The stack's log group (container logs). */
  logGroupName: string;
}

/** The metric the group's scaling policy follows, for a modality. */
export function scalingMetricName(modality: Modality): string {
  return modality === 'llm' ? INFERENCE_METRICS.requests : INFERENCE_METRICS.gpuUtilization;
}

/** The compose file object. */
export function inferenceCompose(args: InferenceNodeArgs): Record<string, unknown> {
  const { server } = args;
  const healthUrl = `http://127.0.0.1:${server.port}${server.healthPath}`;
  return {
    name: INFERENCE_COMPOSE_PROJECT,
    services: {
      server: {
        image: server.image,
        ...(server.server.args.length > 0 ? { command: [...server.server.args] } : {}),
        network_mode: 'host',
        ...(server.modality === 'llm' ? { ipc: 'host', volumes: [`${INFERENCE_FILES.modelCache}:/root/.cache/huggingface`] } : {}),
        restart: 'unless-stopped',
        ...(Object.keys(server.server.environment).length > 0 ? { environment: { ...server.server.environment } } : {}),
        deploy: { resources: { reservations: { devices: [{ driver: 'nvidia', count: 'all', capabilities: ['gpu'] }] } } },
        // The three servers are Python applications: their images carry python3, not always curl.
        healthcheck: {
          test: ['CMD', 'python3', '-c', `import urllib.request; urllib.request.urlopen('${healthUrl}', timeout=4)`],
          interval: '15s',
          timeout: '5s',
          retries: 3,
          start_period: `${MODEL_LOAD_SECONDS}s`,
        },
        stop_grace_period: '30s',
        logging: {
          driver: 'awslogs',
          options: { 'awslogs-region': args.region, 'awslogs-group': args.logGroupName, tag: `inference-${server.modality}/{{.ID}}`, mode: 'non-blocking', 'max-buffer-size': '4m' },
        },
      },
    },
  };
}

/** publish-metrics.sh: GPU utilisation (and vLLM's requests) into CloudWatch, once. */
export function renderMetricsScript(args: InferenceNodeArgs): string {
  const { server } = args;
  const dimensions = `[{"Name":"Stack","Value":"${jsonText(args.stack)}"},{"Name":"Modality","Value":"${server.modality}"}]`;
  return [
    '#!/bin/bash',
    `# voice-agent-infra inference node (${server.modality}): what its group's scaling policy follows.`,
    'set -euo pipefail',
    'export LC_ALL=C PATH="$PATH:/snap/bin"',
    `gpu=$(nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits | awk '{ s += $1; n++ } END { if (n) printf "%.1f", s / n }')`,
    `data='{"MetricName":"${INFERENCE_METRICS.gpuUtilization}","Unit":"Percent","Value":'"\${gpu:-0}"',"Dimensions":${dimensions}}'`,
    ...(server.modality === 'llm'
      ? [
          '# vLLM /metrics (docs/usage/metrics.md): requests on the GPU and requests queued for it. No answer: no datapoint (not zero).',
          `if requests=$(curl -fsS -m 5 http://127.0.0.1:${server.port}/metrics | awk '/^vllm:num_requests_(running|waiting)[{ ]/ { s += $NF; n++ } END { if (n) print s; else exit 1 }'); then`,
          `  data="$data"',{"MetricName":"${INFERENCE_METRICS.requests}","Unit":"Count","Value":'"$requests"',"Dimensions":${dimensions}}'`,
          'fi',
        ]
      : []),
    `aws cloudwatch put-metric-data --region '${args.region}' --namespace '${args.metricsNamespace}' --metric-data "[$data]"`,
    '',
  ].join('\n');
}

/** drain.sh: the termination watcher (a long-running service). */
export function renderDrainScript(args: InferenceNodeArgs): string {
  const { server } = args;
  return [
    '#!/bin/bash',
    `# voice-agent-infra inference node (${server.modality}): drains the server before the group terminates the instance.`,
    'set -uo pipefail',
    'export LC_ALL=C PATH="$PATH:/snap/bin"',
    'IMDS="${IMDS_ENDPOINT:-http://169.254.169.254}"',
    'imds() {',
    '  local token',
    `  token=$(curl -fsS -m 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "$IMDS/latest/api/token") || return 1`,
    '  curl -fsS -m 5 -H "X-aws-ec2-metadata-token: $token" "$IMDS/latest/meta-data/$1"',
    '}',
    '# Connections still open on the server port (the load balancer stops sending new ones once it deregisters the instance).',
    `open_connections() { ss -Htn state established '( sport = :${server.port} )' | wc -l; }`,
    'while sleep "${DRAIN_POLL_SECONDS:-5}"; do',
    '  [[ $(imds autoscaling/target-lifecycle-state) == Terminated ]] || continue',
    `  echo "voice-agent inference drain: terminating; waiting up to ${server.drainSeconds} s for open requests"`,
    `  deadline=$((SECONDS + ${server.drainSeconds}))`,
    '  while ((SECONDS < deadline)) && (($(open_connections) > 0)); do sleep 2; done',
    `  docker compose --file ${INFERENCE_FILES.compose} stop server`,
    '  group=$(imds tags/instance/aws:autoscaling:groupName) && instance=$(imds instance-id) || continue',
    `  aws autoscaling complete-lifecycle-action --region '${args.region}' --lifecycle-hook-name '${DRAIN_HOOK_NAME}' --auto-scaling-group-name "$group" --instance-id "$instance" --lifecycle-action-result CONTINUE && exit 0`,
    'done',
    '',
  ].join('\n');
}

function unit(lines: string[]): string {
  return [...lines, ''].join('\n');
}

/** The `#cloud-config` object. */
export function inferenceCloudInitConfig(args: InferenceNodeArgs): Record<string, unknown> {
  validate(args);
  const compose = `/usr/bin/docker compose --file ${INFERENCE_FILES.compose}`;
  const files = [
    { path: INFERENCE_FILES.compose, permissions: '0644', content: toYamlText(inferenceCompose(args), ` voice-agent-infra inference node: ${args.server.modality} (${args.server.model}). No secret here.`) },
    { path: INFERENCE_FILES.metricsScript, permissions: '0755', content: renderMetricsScript(args) },
    { path: INFERENCE_FILES.drainScript, permissions: '0755', content: renderDrainScript(args) },
    {
      path: `/etc/systemd/system/${INFERENCE_UNITS.server}`,
      permissions: '0644',
      content: unit([
        '[Unit]',
        `Description=voice-agent-infra inference: ${args.server.modality} server in docker compose`,
        'Requires=docker.service',
        'After=docker.service network-online.target',
        'Wants=network-online.target',
        'StartLimitIntervalSec=0',
        '',
        '[Service]',
        'Type=simple',
        `ExecStartPre=-${compose} down --remove-orphans`,
        `ExecStart=${compose} up --remove-orphans`,
        `ExecStop=${compose} down`,
        'Restart=always',
        'RestartSec=10',
        // The first start pulls the image (vLLM's is ~10 GB).
        'TimeoutStartSec=1800',
        'TimeoutStopSec=90',
        '',
        '[Install]',
        'WantedBy=multi-user.target',
      ]),
    },
    {
      path: `/etc/systemd/system/${INFERENCE_UNITS.metrics}.service`,
      permissions: '0644',
      content: unit(['[Unit]', 'Description=voice-agent-infra inference: publish GPU and queue metrics', '', '[Service]', 'Type=oneshot', `ExecStart=${INFERENCE_FILES.metricsScript}`]),
    },
    {
      path: `/etc/systemd/system/${INFERENCE_UNITS.metrics}.timer`,
      permissions: '0644',
      content: unit(['[Unit]', 'Description=voice-agent-infra inference: publish metrics every minute', '', '[Timer]', 'OnBootSec=1min', 'OnUnitActiveSec=1min', '', '[Install]', 'WantedBy=timers.target']),
    },
    {
      path: `/etc/systemd/system/${INFERENCE_UNITS.drain}`,
      permissions: '0644',
      content: unit(['[Unit]', 'Description=voice-agent-infra inference: drain the server before termination', 'After=network-online.target', '', '[Service]', `ExecStart=${INFERENCE_FILES.drainScript}`, 'Restart=always', 'RestartSec=5', '', '[Install]', 'WantedBy=multi-user.target']),
    },
  ];
  return {
    // The AMI carries Docker, compose and the NVIDIA toolkit: no package step, no upgrade (a newer AMI rolls the group).
    package_update: false,
    package_upgrade: false,
    write_files: files.map((f) => ({ ...f, owner: 'root:root' })),
    runcmd: [
      ['mkdir', '-p', INFERENCE_FILES.modelCache],
      // The AWS CLI publishes metrics and completes the lifecycle action; install it if the AMI lacks it.
      ['sh', '-c', 'command -v aws >/dev/null || snap install aws-cli --classic'],
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', INFERENCE_UNITS.server, INFERENCE_UNITS.drain, `${INFERENCE_UNITS.metrics}.timer`],
    ],
  };
}

/** The user data text (plain; the launch template sends it gzip-compressed). */
export function renderInferenceCloudInit(args: InferenceNodeArgs): string {
  const comment = [` voice-agent-infra inference node: ${args.server.modality}, for ${GPU_AMI.description}.`, ' No secret in this file.'].join('\n');
  const text = `#cloud-config\n${toYamlText(inferenceCloudInitConfig(args), comment)}`;
  const bytes = gzipSync(Buffer.from(text, 'utf8'), { level: 9 }).length;
  if (bytes > 16_384) throw new Error(`inference user data is ${bytes} bytes gzip-compressed, over EC2's 16384-byte limit`);
  return text;
}

function validate(args: InferenceNodeArgs): void {
  if (!/^[A-Za-z0-9._/#-]{1,255}$/.test(args.metricsNamespace)) throw new Error(`metricsNamespace is not a CloudWatch namespace: "${args.metricsNamespace}"`);
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(args.region)) throw new Error(`region must be an AWS region such as us-east-1, got "${args.region}"`);
  if (!/^[A-Za-z0-9._/#-]{1,512}$/.test(args.logGroupName)) throw new Error(`logGroupName is not a log group name: "${args.logGroupName}"`);
  // The stack name goes into JSON and a single-quoted shell word.
  if (!/^[A-Za-z0-9._-]{1,255}$/.test(args.stack)) throw new Error(`stack must be letters, digits, ".", "_" or "-", got "${args.stack}"`);
}

/** The stack name as JSON string content (validated: nothing to escape). */
function jsonText(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}
