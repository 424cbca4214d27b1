/**
 * The Pulumi program, thin: stack config -> plan and cost -> the AWS or Kubernetes stack -> outputs.
 * User errors (bad config) end the run with one line naming the key, not a stack trace.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pulumi from '@pulumi/pulumi';
import { sipCredentialsFromConfig } from './components/aws/sip.js';
import { AwsVoiceStack } from './components/aws/voice-stack.js';
import { CONFIG_NAMESPACE, ConfigError, configFromPulumi } from './components/config.js';
import { K8sVoiceStack } from './components/k8s/voice-stack.js';
import { buildStackReport } from './components/report.js';

const stackName = pulumi.getStack();

function build() {
  const config = configFromPulumi(pulumi.runtime.allConfig());
  const { report, plan } = buildStackReport(stackName, config);
  if (config.target === 'kubernetes') {
    const redisPassword = new pulumi.Config(CONFIG_NAMESPACE).getSecret('redisPassword');
    const stack = new K8sVoiceStack('voice', {
      stack: stackName,
      config,
      plan,
      ...(redisPassword !== undefined ? { redisPassword } : {}),
      sipCredentials: sipCredentialsFromConfig(),
    });
    return { report, stack };
  }
  const stack = new AwsVoiceStack('voice', {
    stack: stackName,
    config,
    plan,
    repoRoot: dirname(fileURLToPath(import.meta.url)),
    sipCredentials: sipCredentialsFromConfig(),
  });
  return { report, stack };
}

let built: ReturnType<typeof build>;
try {
  built = build();
} catch (error) {
  // RunError: Pulumi prints the message alone (no program text, no stack trace).
  if (error instanceof ConfigError) {
    // The ConfigError rides along as the cause (the offline plan reports its key and value).
    throw Object.assign(new pulumi.RunError(`voice-agent-infra:${error.message}`), { cause: error });
  }
  throw error;
}
const { report, stack } = built;

// The same output names on both targets where they apply; AWS-only ones are undefined on Kubernetes.
const awsStack = stack instanceof AwsVoiceStack ? stack : undefined;
const k8sStack = stack instanceof K8sVoiceStack ? stack : undefined;
export const tier = report.tier;
export const livekitUrl = stack.livekitUrl;
export const webhookUrl = stack.webhookUrl;
export const operatorUrl = awsStack?.operatorUrl;
export const dashboardUrl = awsStack?.dashboardUrl;
export const alertTopicArn = awsStack?.alertTopicArn;
export const secretArns = awsStack?.secretArns;
export const livekitApiKey = stack.apiKey;
export const dnsRecords = stack.dnsRecords;
export const agentImage = stack.agentImage;
/** Kubernetes: the namespace and the names of the stack's Secrets (never values). */
export const namespace = k8sStack?.namespace;
export const secretNames = k8sStack?.secretNames;
/** Point the SIP provider's trunk here (README "Receiving calls"); absent with sip.enabled false. */
export const sipUri = awsStack?.sipUri ?? k8sStack?.sipUri;
/** The numbers the inbound trunk takes (empty: any number the provider sends). */
export const sipNumbers = awsStack?.sipNumbers ?? k8sStack?.sipNumbers;
/** Kubernetes: the firewall rules to add for the LiveKit nodes (the cluster's firewall is not the stack's). */
export const sipFirewall = k8sStack?.sipFirewall;
export const plan = {
  tier: report.tier,
  livekit: report.livekit,
  agents: report.agents,
  redis: report.redis,
  loadBalancer: report.loadBalancer,
  busyHourSessions: report.capacity.busyHour.sessions,
  spikeSessions: report.capacity.spike.sessions,
  warnings: report.warnings,
};
export const monthlyUsd = Math.round(report.cost.monthlyUsd * 100) / 100;
export const perMinuteUsd = Math.round(report.cost.perMinuteUsd * 10_000) / 10_000;
export const infraMonthlyUsd = Math.round(report.cost.infraMonthlyUsd * 100) / 100;
