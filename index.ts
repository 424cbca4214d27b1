/**
 * The Pulumi program, thin: stack config -> plan and cost -> the AWS stack -> outputs.
 * User errors (bad config) end the run with one line naming the key, not a stack trace.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pulumi from '@pulumi/pulumi';
import { sipCredentialsFromConfig } from './components/aws/sip.js';
import { AwsVoiceStack } from './components/aws/voice-stack.js';
import { ConfigError, configFromPulumi } from './components/config.js';
import { buildStackReport } from './components/report.js';

const stackName = pulumi.getStack();

function build() {
  const config = configFromPulumi(pulumi.runtime.allConfig());
  if (config.target === 'kubernetes') {
    throw new ConfigError('target', config.target, 'the Kubernetes target is not built yet; use target: aws (the plan and cost still work: npm run plan)');
  }
  const { report, plan } = buildStackReport(stackName, config);
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

export const tier = report.tier;
export const livekitUrl = stack.livekitUrl;
export const webhookUrl = stack.webhookUrl;
export const operatorUrl = stack.operatorUrl;
export const dashboardUrl = stack.dashboardUrl;
export const alertTopicArn = stack.alertTopicArn;
export const secretArns = stack.secretArns;
export const livekitApiKey = stack.apiKey;
export const dnsRecords = stack.dnsRecords;
export const agentImage = stack.agentImage;
/** Point the SIP provider's trunk here (README "Receiving calls"); absent with sip.enabled false. */
export const sipUri = stack.sipUri;
/** The numbers the inbound trunk takes (empty: any number the provider sends). */
export const sipNumbers = stack.sipNumbers;
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
