/**
 * The stack's security policies (@pulumi/policy), as a plain array: the PolicyPack in index.ts
 * wraps it for `pulumi preview --policy-pack components/policy`, and the tests call each
 * validation directly on the mocked resource graph (constructing a PolicyPack starts a server).
 * AWSGuard and Pulumi's compliance packs cover neither IMDSv2 nor ElastiCache, hence these rules.
 */
import { gunzipSync } from 'node:zlib';
import type { Policies, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from '@pulumi/policy';
import { METRICS } from '@voice-agent-infra/common';
import { TAG_KEYS } from '../aws/common.js';
import { CADDY_PORTS, LIVEKIT_PORTS, type PortProtocol, PUBLIC_TLS_PORT } from '../livekit/ports.js';
import { SIP_RTP_PORT_RANGE, SIP_SIGNALLING_PORT, SIP_TLS_PORT } from '../sip/ports.js';

export const RESOURCE_TYPES = {
  instance: 'aws:ec2/instance:Instance',
  launchTemplate: 'aws:ec2/launchTemplate:LaunchTemplate',
  volume: 'aws:ebs/volume:Volume',
  securityGroup: 'aws:ec2/securityGroup:SecurityGroup',
  securityGroupRule: 'aws:ec2/securityGroupRule:SecurityGroupRule',
  ingressRule: 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
  replicationGroup: 'aws:elasticache/replicationGroup:ReplicationGroup',
  ecrRepository: 'aws:ecr/repository:Repository',
  metricAlarm: 'aws:cloudwatch/metricAlarm:MetricAlarm',
  snsTopic: 'aws:sns/topic:Topic',
  autoscalingGroup: 'aws:autoscaling/group:Group',
  lifecycleHook: 'aws:autoscaling/lifecycleHook:LifecycleHook',
} as const;

type Props = Record<string, unknown>;

/**
 * Ports that may be open to the whole internet: LiveKit's public ports, Caddy's (small), the NLBs'
 * TLS 443, and the SIP service's RTP range (open when the provider's media ranges are not published:
 * RTP is taken only on the ports of calls the signalling set up; components/sip/providers.ts).
 */
export const INTERNET_PORTS: ReadonlyArray<{ protocol: PortProtocol; fromPort: number; toPort: number }> = [
  ...[...LIVEKIT_PORTS, ...CADDY_PORTS].filter((p) => p.access === 'public').map(({ protocol, fromPort, toPort }) => ({ protocol, fromPort, toPort })),
  { protocol: 'tcp', fromPort: PUBLIC_TLS_PORT, toPort: PUBLIC_TLS_PORT },
  { protocol: 'udp', fromPort: SIP_RTP_PORT_RANGE.start, toPort: SIP_RTP_PORT_RANGE.end },
];

const OPEN_CIDRS = new Set(['0.0.0.0/0', '::/0']);

function isInternetPort(protocol: unknown, fromPort: unknown, toPort: unknown): boolean {
  const proto = String(protocol).toLowerCase();
  return INTERNET_PORTS.some((p) => p.protocol === proto && p.fromPort === Number(fromPort) && p.toPort === Number(toPort));
}

function asRecord(value: unknown): Props {
  return value && typeof value === 'object' ? (value as Props) : {};
}

function isTrue(value: unknown): boolean {
  return value === true || value === 'true';
}

// --- IMDSv2 ------------------------------------------------------------------------------------

export const imdsv2Required: ResourceValidationPolicy = {
  name: 'imdsv2-required',
  description: 'EC2 instances and launch templates require IMDSv2 session tokens (metadataOptions.httpTokens = "required").',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    if (args.type !== RESOURCE_TYPES.instance && args.type !== RESOURCE_TYPES.launchTemplate) return;
    const tokens = asRecord(args.props.metadataOptions).httpTokens;
    if (tokens !== 'required') {
      report(`${args.name}: IMDSv2 is not required (metadataOptions.httpTokens = ${JSON.stringify(tokens ?? null)}); set it to "required" so a request forgery cannot read the instance role's credentials`);
    }
  },
};

// --- EBS encryption ------------------------------------------------------------------------------

export const ebsEncrypted: ResourceValidationPolicy = {
  name: 'ebs-encrypted',
  description: 'EBS volumes (instance root and data volumes, launch template mappings, standalone volumes) are encrypted.',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    const p = args.props;
    if (args.type === RESOURCE_TYPES.instance) {
      if (!isTrue(asRecord(p.rootBlockDevice).encrypted)) report(`${args.name}: root volume not encrypted (rootBlockDevice.encrypted)`);
      for (const [i, d] of (Array.isArray(p.ebsBlockDevices) ? p.ebsBlockDevices : []).entries()) {
        if (!isTrue(asRecord(d).encrypted)) report(`${args.name}: ebsBlockDevices[${i}] not encrypted`);
      }
    } else if (args.type === RESOURCE_TYPES.launchTemplate) {
      const mappings = Array.isArray(p.blockDeviceMappings) ? p.blockDeviceMappings.map(asRecord) : [];
      if (mappings.length === 0) report(`${args.name}: no block device mapping, so the root volume is encrypted only if the account default says so; map the root volume with ebs.encrypted`);
      for (const [i, m] of mappings.entries()) {
        const ebs = asRecord(m.ebs);
        if (m.ebs !== undefined && !isTrue(ebs.encrypted)) report(`${args.name}: blockDeviceMappings[${i}] (${String(m.deviceName)}) not encrypted`);
      }
    } else if (args.type === RESOURCE_TYPES.volume) {
      if (!isTrue(p.encrypted)) report(`${args.name}: EBS volume not encrypted`);
    }
  },
};

// --- Ingress from the internet ---------------------------------------------------------------------

export const noOpenIngress: ResourceValidationPolicy = {
  name: 'no-open-ingress',
  description: "No ingress from 0.0.0.0/0 or ::/0 except LiveKit's public ports (media, ICE/TCP, TURN/UDP), Caddy's 443/80 and the NLBs' TLS 443.",
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    const p = args.props;
    const check = (where: string, protocol: unknown, fromPort: unknown, toPort: unknown, cidrs: unknown[]) => {
      const open = cidrs.filter((c): c is string => typeof c === 'string' && OPEN_CIDRS.has(c));
      if (open.length > 0 && !isInternetPort(protocol, fromPort, toPort)) {
        report(`${args.name}${where}: ${open.join(', ')} may reach ${String(protocol)} ${String(fromPort)}-${String(toPort)}; only LiveKit's public ports may be open to the internet`);
      }
    };
    if (args.type === RESOURCE_TYPES.ingressRule) {
      check('', p.ipProtocol, p.fromPort, p.toPort, [p.cidrIpv4, p.cidrIpv6]);
    } else if (args.type === RESOURCE_TYPES.securityGroupRule && p.type === 'ingress') {
      check('', p.protocol, p.fromPort, p.toPort, [...asArray(p.cidrBlocks), ...asArray(p.ipv6CidrBlocks)]);
    } else if (args.type === RESOURCE_TYPES.securityGroup) {
      for (const [i, rule] of asArray(p.ingress).map(asRecord).entries()) {
        check(` ingress[${i}]`, rule.protocol, rule.fromPort, rule.toPort, [...asArray(rule.cidrBlocks), ...asArray(rule.ipv6CidrBlocks)]);
      }
    }
  },
};

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

// --- SIP signalling never from the internet ---------------------------------------------------------

/** Ports of SIP signalling (5060 UDP/TCP, 5061 TLS): only from the SIP provider's ranges. */
export const SIP_SIGNALLING_PORTS: readonly number[] = [SIP_SIGNALLING_PORT, SIP_TLS_PORT];

/** A rule's port range covers a SIP signalling port (protocol -1, "all", covers every port). */
function coversSipSignalling(protocol: unknown, fromPort: unknown, toPort: unknown): number[] {
  const proto = String(protocol).toLowerCase();
  if (proto === '-1' || proto === 'all') return [...SIP_SIGNALLING_PORTS];
  if (proto !== 'tcp' && proto !== 'udp' && proto !== '6' && proto !== '17') return [];
  const from = Number(fromPort);
  const to = Number(toPort);
  return SIP_SIGNALLING_PORTS.filter((port) => from <= port && port <= to);
}

export const noOpenSipSignalling: ResourceValidationPolicy = {
  name: 'no-open-sip-signalling',
  description: "No ingress on SIP signalling (5060, 5061) from 0.0.0.0/0 or ::/0: scanners and toll fraud find an open SIP port within minutes; only the SIP provider's ranges may reach it.",
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    const p = args.props;
    const check = (where: string, protocol: unknown, fromPort: unknown, toPort: unknown, cidrs: unknown[]) => {
      const open = cidrs.filter((c): c is string => typeof c === 'string' && OPEN_CIDRS.has(c));
      const ports = coversSipSignalling(protocol, fromPort, toPort);
      if (open.length > 0 && ports.length > 0) {
        report(`${args.name}${where}: ${open.join(', ')} may reach SIP signalling (${String(protocol)} ${ports.join(', ')}); open it to the SIP provider's ranges only (sip.provider, sip.allowedCidrs)`);
      }
    };
    if (args.type === RESOURCE_TYPES.ingressRule) {
      check('', p.ipProtocol, p.fromPort, p.toPort, [p.cidrIpv4, p.cidrIpv6]);
    } else if (args.type === RESOURCE_TYPES.securityGroupRule && p.type === 'ingress') {
      check('', p.protocol, p.fromPort, p.toPort, [...asArray(p.cidrBlocks), ...asArray(p.ipv6CidrBlocks)]);
    } else if (args.type === RESOURCE_TYPES.securityGroup) {
      for (const [i, rule] of asArray(p.ingress).map(asRecord).entries()) {
        check(` ingress[${i}]`, rule.protocol, rule.fromPort, rule.toPort, [...asArray(rule.cidrBlocks), ...asArray(rule.ipv6CidrBlocks)]);
      }
    }
  },
};

// --- Redis ----------------------------------------------------------------------------------------

export const redisEncryptedWithAuth: ResourceValidationPolicy = {
  name: 'redis-encrypted-auth',
  description: 'ElastiCache replication groups encrypt in transit and at rest and require AUTH (a token or RBAC user groups).',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    if (args.type !== RESOURCE_TYPES.replicationGroup) return;
    const p = args.props;
    if (!isTrue(p.transitEncryptionEnabled)) report(`${args.name}: transitEncryptionEnabled is not true (Redis traffic, the AUTH token included, would cross the VPC in clear text)`);
    if (!isTrue(p.atRestEncryptionEnabled)) report(`${args.name}: atRestEncryptionEnabled is not true`);
    const hasAuth = (typeof p.authToken === 'string' && p.authToken.length > 0) || (p.authToken !== undefined && p.authToken !== null && typeof p.authToken === 'object') || asArray(p.userGroupIds).length > 0;
    if (!hasAuth) report(`${args.name}: no AUTH (authToken or userGroupIds): anyone reaching the port may read the queue`);
  },
};

// --- Secrets in user data ----------------------------------------------------------------------------

const SECRET_NAME = String.raw`[\w.-]*(?:secret|password|passwd|token|private_?key|access_?key)[\w.-]*`;
// A literal: not a reference ($VAR, $(cmd)), an ARN, a template, a boot-time placeholder (@@NAME@@,
// components/sip/sip-yaml.ts: filled on the node from Secrets Manager) or an empty/quoted-empty value; 8+ characters.
const LITERAL = String.raw`["']?(?!\$|arn:|<|\{\{|\(|\[|@@[A-Z0-9_]+@@(?:["'\s]|$)|["'\s]|$)[^\s"'#,;)]{8,}`;

/** What looks like secret material in a line of text, each with the reason given in the violation. */
export const SECRET_PATTERNS: ReadonlyArray<{ pattern: RegExp; what: string }> = [
  { pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/, what: 'a PEM private key block' },
  { pattern: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/, what: 'an AWS access key id' },
  // YAML/env keys at the start of a line: `password: hunter2...`, `- API_SECRET: ...`.
  { pattern: new RegExp(String.raw`^\s*(?:-\s+)?["']?${SECRET_NAME}["']?\s*:\s+${LITERAL}`, 'i'), what: 'a secret-named setting with a literal value' },
  // Assignments anywhere (shell, flags): `REDIS_PASSWORD=...`, `--token=...`; never inside an ARN path.
  { pattern: new RegExp(String.raw`(?<![:/\w.-])${SECRET_NAME}\s*=\s*${LITERAL}`, 'i'), what: 'a secret-named setting with a literal value' },
];

/** The first secret-looking thing in a text (comments aside), or null. Exported for tests. */
export function findSecretMaterial(text: string): { what: string; excerpt: string } | null {
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/(^|\s)#(?!!).*$/, '');
    for (const { pattern, what } of SECRET_PATTERNS) {
      const match = pattern.exec(line);
      // Never echo the value: name the kind and mask what follows the separator.
      if (match) return { what, excerpt: match[0].trim().slice(0, 32).replace(/([:=]\s*["']?).*/, '$1***') };
    }
  }
  return null;
}

/** User data as text: launch templates hold it base64-encoded, and the nodes send it gzip-compressed. */
export function userDataText(type: string, props: Props): string | null {
  if (type === RESOURCE_TYPES.instance) {
    if (typeof props.userData === 'string') return props.userData;
    if (typeof props.userDataBase64 === 'string') return decoded(props.userDataBase64);
  }
  if (type === RESOURCE_TYPES.launchTemplate && typeof props.userData === 'string') return decoded(props.userData);
  return null;
}

/** Base64 to text, gunzipped when it is gzip (cloud-init reads either). */
function decoded(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  return (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
}

export const noSecretsInUserData: ResourceValidationPolicy = {
  name: 'no-secrets-in-user-data',
  description: 'User data (clear text in the console, the API and state) holds no secret material: PEM keys, AWS keys, or secret-named settings with literal values.',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    const text = userDataText(args.type, args.props);
    if (text === null) return;
    const found = findSecretMaterial(text);
    if (found) report(`${args.name}: user data contains ${found.what} (${found.excerpt}); read secrets at boot from Secrets Manager with the instance role`);
  },
};

// --- ECR ------------------------------------------------------------------------------------------

export const ecrScanOnPush: ResourceValidationPolicy = {
  name: 'ecr-scan-on-push',
  description: 'ECR repositories scan images on push.',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    if (args.type !== RESOURCE_TYPES.ecrRepository) return;
    if (!isTrue(asRecord(args.props.imageScanningConfiguration).scanOnPush)) {
      report(`${args.name}: imageScanningConfiguration.scanOnPush is not true`);
    }
  },
};

// --- Calls survive instance changes ------------------------------------------------------------------

/** Components whose autoscaling groups run calls or serve their turns (inference), by TAG_KEYS.component on the group. */
export const CALL_GROUP_COMPONENTS = ['agent-fleet', 'livekit', 'inference'] as const;

export const singleNodeNotReplaced: ResourceValidationPolicy = {
  name: 'single-node-not-replaced',
  description: 'A standalone instance (the single node of small and mid) is neither replaced nor stopped by a user data or AMI change: it ignores both after creation.',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    if (args.type !== RESOURCE_TYPES.instance) return;
    const ignored = new Set(args.opts?.ignoreChanges ?? []);
    if (isTrue(args.props.userDataReplaceOnChange)) report(`${args.name}: userDataReplaceOnChange replaces the instance, and its calls with it, on every user data change`);
    for (const key of ['userData', 'userDataBase64'] as const) {
      // terraform-provider-aws ec2_instance.go: an in-place user data change stops, modifies and starts the instance.
      if (args.props[key] !== undefined && !ignored.has(key)) report(`${args.name}: a change of ${key} would stop and start the instance (in-place update) or replace it; add "${key}" to ignoreChanges`);
    }
    if (!ignored.has('ami')) report(`${args.name}: a new AMI (a newer lookup) would replace the instance; add "ami" to ignoreChanges and roll it on purpose`);
  },
};

interface HookedResource {
  type: string;
  name: string;
  props: Props;
  urn?: string;
  /** Physical name where known (the offline plan); the engine puts the auto-name in props.name. */
  physicalName?: string;
  propertyDependencies?: Record<string, ReadonlyArray<{ urn: string }>>;
}

/** Groups that run calls without a termination lifecycle hook. Exported for tests. */
export function lifecycleHookViolations(resources: readonly HookedResource[]): string[] {
  const componentOf = (r: HookedResource) => asArray(r.props.tags).map(asRecord).find((t) => t.key === TAG_KEYS.component)?.value;
  const groups = resources.filter((r) => r.type === RESOURCE_TYPES.autoscalingGroup && (CALL_GROUP_COMPONENTS as readonly unknown[]).includes(componentOf(r)));
  const hooks = resources.filter((r) => r.type === RESOURCE_TYPES.lifecycleHook && r.props.lifecycleTransition === 'autoscaling:EC2_INSTANCE_TERMINATING');
  const holds = (hook: HookedResource, group: HookedResource) => {
    const deps = hook.propertyDependencies?.autoscalingGroupName ?? [];
    if (group.urn !== undefined && deps.some((d) => d.urn === group.urn)) return true;
    const groupName = group.physicalName ?? group.props.name;
    return typeof groupName === 'string' && hook.props.autoscalingGroupName === groupName;
  };
  return groups
    .filter((group) => !hooks.some((hook) => holds(hook, group)))
    .map((group) => `${group.name}: autoscaling group running calls (${String(componentOf(group))}) has no termination lifecycle hook: scale-in and instance refresh would drop its calls`);
}

export const terminationHooksOnCallGroups: StackValidationPolicy = {
  name: 'termination-hooks-on-call-groups',
  description: 'Every autoscaling group that runs calls (LiveKit, agent workers) has an EC2_INSTANCE_TERMINATING lifecycle hook, so its instances drain before they go.',
  enforcementLevel: 'mandatory',
  validateStack: (args, report) => {
    for (const violation of lifecycleHookViolations(args.resources as unknown as HookedResource[])) report(violation);
  },
};

// --- Alarms on large ---------------------------------------------------------------------------------

/** The metrics a large stack must alarm on (CloudWatch names). */
export const REQUIRED_LARGE_ALARM_METRICS = [
  METRICS.deadLetters.cloudWatch,
  METRICS.callSucceeded.cloudWatch,
  METRICS.turnLatency.cloudWatch,
  METRICS.queueWaitingCalls.cloudWatch,
] as const;

interface StackResource {
  type: string;
  name: string;
  props: Props;
  urn?: string;
}

/** Violations of the large-tier alarm rule on a list of resources. Exported for tests. */
export function largeAlarmViolations(resources: readonly StackResource[]): string[] {
  const large = resources.some((r) => asRecord(r.props.tags)[TAG_KEYS.tier] === 'large');
  if (!large) return [];
  const alarms = resources.filter((r) => r.type === RESOURCE_TYPES.metricAlarm);
  const violations: string[] = [];
  if (!resources.some((r) => r.type === RESOURCE_TYPES.snsTopic)) violations.push('large tier: no SNS topic for alarm notifications');
  for (const metric of REQUIRED_LARGE_ALARM_METRICS) {
    if (!alarms.some((a) => a.props.metricName === metric)) violations.push(`large tier: no alarm on ${metric}`);
  }
  if (!alarms.some((a) => asArray(a.props.metricQueries).some((q) => asRecord(asRecord(q).metric).metricName === 'CPUUtilization') || a.props.metricName === 'CPUUtilization')) {
    violations.push('large tier: no CPU alarm');
  }
  for (const alarm of alarms) {
    if (asArray(alarm.props.alarmActions).length === 0) violations.push(`${alarm.name}: alarm notifies nobody (alarmActions is empty)`);
  }
  return violations;
}

export const alarmsOnLarge: StackValidationPolicy = {
  name: 'alarms-on-large',
  description: 'A large-tier stack alarms on dead letters, success rate, turn latency, backlog and CPU, and every alarm notifies a topic.',
  enforcementLevel: 'mandatory',
  validateStack: (args, report) => {
    for (const violation of largeAlarmViolations(args.resources)) report(violation);
  },
};

/** Every policy of the pack. */
export const policies: Policies = [
  imdsv2Required,
  ebsEncrypted,
  noOpenIngress,
  noOpenSipSignalling,
  redisEncryptedWithAuth,
  noSecretsInUserData,
  ecrScanOnPush,
  singleNodeNotReplaced,
  alarmsOnLarge,
  terminationHooksOnCallGroups,
];

/** Runs a resource policy's validations on one resource's props; the violation messages. Pure; for tests and scripts. */
export async function resourceViolations(
  policy: ResourceValidationPolicy,
  resource: { type: string; name: string; props: Props; options?: { ignoreChanges?: string[]; deleteBeforeReplace?: boolean } },
): Promise<string[]> {
  const messages: string[] = [];
  const report: ReportViolation = (message) => messages.push(message);
  const args = {
    type: resource.type,
    name: resource.name,
    props: resource.props,
    urn: `urn:pulumi:offline::voice-agent-infra::${resource.type}::${resource.name}`,
    opts: {
      protect: false,
      ignoreChanges: resource.options?.ignoreChanges ?? [],
      deleteBeforeReplace: resource.options?.deleteBeforeReplace ?? false,
      aliases: [],
      additionalSecretOutputs: [],
      customTimeouts: {},
    },
    stackTags: new Map<string, string>(),
    isType: () => false,
    asType: () => undefined,
    getConfig: () => ({}),
    notApplicable: () => {
      throw new NotApplicable();
    },
  } as unknown as ResourceValidationArgs;
  const validations = policy.validateResource === undefined ? [] : Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
  for (const validate of validations) {
    try {
      await validate(args, report);
    } catch (error) {
      if (!(error instanceof NotApplicable)) throw error;
    }
  }
  return messages;
}

class NotApplicable extends Error {}
