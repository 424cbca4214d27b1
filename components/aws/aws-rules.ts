/**
 * What the AWS APIs refuse, for the resource types this package creates: one table, each rule with
 * the AWS page it comes from. Pure (no Pulumi): the Pulumi mocks (scripts/lib/pulumi-mocks.ts) run
 * every registered resource through `awsRefusals` and fail the registration as AWS would fail the
 * create, so the offline plan and the tests cannot accept what `pulumi up` would not.
 *
 * A rule sees the inputs as the provider would send them, and the physical name: the `name` input,
 * `namePrefix` plus the 26 characters the provider appends (terraform-plugin-sdk
 * id.PrefixedUniqueId), or Pulumi's auto-name, the logical name plus "-" and 7 hex characters.
 * Where AWS documents two readings (ElastiCache AUTH on create and on modify), the stricter one.
 */

export interface AwsResourceInput {
  /** Pulumi type token, e.g. "aws:lb/targetGroup:TargetGroup". */
  type: string;
  /** Logical name (what Pulumi auto-names from). */
  name: string;
  /** Plain inputs (secret markers removed). */
  inputs: Record<string, unknown>;
}

/** One refusal: which rule, which input, and AWS's words. */
export interface AwsRefusal {
  rule: string;
  /** The input path, e.g. "description" or "tags.Name" or "ingress[0].description". */
  input: string;
  /** What AWS answers (error code and message), without the refused value when it may be a secret. */
  message: string;
  /** The AWS page the rule comes from. */
  source: string;
}

interface Rule {
  id: string;
  /** Type tokens the rule applies to; '*' for any AWS type. */
  types: readonly string[] | '*';
  source: string;
  check(resource: AwsResourceInput): Array<Omit<AwsRefusal, 'rule' | 'source'>>;
}

/** Characters Pulumi's auto-name adds to a logical name: "-" and 7 hex characters. */
export const PULUMI_AUTONAME_SUFFIX_LENGTH = 8;
/** Characters the provider adds to a `namePrefix` (terraform-plugin-sdk helper/id PrefixedUniqueId: timestamp and counter). */
export const NAME_PREFIX_SUFFIX_LENGTH = 26;

/** Pulumi's auto-name shape for a logical name (the random part is 7 hex characters). */
export function autonameOf(logicalName: string, randomHex = '0000000'): string {
  return `${logicalName}-${randomHex}`;
}

export const TYPES = {
  securityGroup: 'aws:ec2/securityGroup:SecurityGroup',
  securityGroupRule: 'aws:ec2/securityGroupRule:SecurityGroupRule',
  ingressRule: 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
  egressRule: 'aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule',
  loadBalancer: 'aws:lb/loadBalancer:LoadBalancer',
  targetGroup: 'aws:lb/targetGroup:TargetGroup',
  listener: 'aws:lb/listener:Listener',
  replicationGroup: 'aws:elasticache/replicationGroup:ReplicationGroup',
  role: 'aws:iam/role:Role',
  instanceProfile: 'aws:iam/instanceProfile:InstanceProfile',
  launchTemplate: 'aws:ec2/launchTemplate:LaunchTemplate',
  instance: 'aws:ec2/instance:Instance',
  metricAlarm: 'aws:cloudwatch/metricAlarm:MetricAlarm',
  topic: 'aws:sns/topic:Topic',
  secret: 'aws:secretsmanager/secret:Secret',
  group: 'aws:autoscaling/group:Group',
  lifecycleHook: 'aws:autoscaling/lifecycleHook:LifecycleHook',
  ssmParameter: 'aws:ssm/parameter:Parameter',
  volume: 'aws:ebs/volume:Volume',
  ecrRepository: 'aws:ecr/repository:Repository',
  logGroup: 'aws:cloudwatch/logGroup:LogGroup',
} as const;

// --- Security group descriptions ---------------------------------------------------------------

/** EC2's character set for security group and rule descriptions (letters, digits, space and ._-:/()#,@[]+=&;{}!$*). */
export const EC2_DESCRIPTION = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/;
export const EC2_DESCRIPTION_MAX = 255;
const IP_RANGE_SOURCE = 'https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpRange.html';

function ruleDescription(path: string, value: unknown): Array<Omit<AwsRefusal, 'rule' | 'source'>> {
  if (value === undefined || value === null) return [];
  const text = String(value);
  if (text.length <= EC2_DESCRIPTION_MAX && EC2_DESCRIPTION.test(text)) return [];
  const bad = [...new Set([...text].filter((c) => !EC2_DESCRIPTION.test(c)))].map((c) => JSON.stringify(c)).join(' ');
  return [
    {
      input: path,
      message: `InvalidParameterValue: Invalid rule description. Valid descriptions are strings less than 256 characters from the following set: a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*${bad ? ` (refused characters: ${bad})` : ` (${text.length} characters)`}`,
    },
  ];
}

// --- Names ---------------------------------------------------------------------------------------

interface NameRule {
  type: string;
  /** Input holding the name ("name", or "replicationGroupId"). */
  property: string;
  /** Pulumi auto-names the property when it is not given. */
  autonamed: boolean;
  min: number;
  max: number;
  /** Also refused: a pattern the name must match, and how AWS words it. */
  pattern?: RegExp;
  patternText: string;
  code: string;
  source: string;
  /** Extra shape checks (no leading hyphen, ...): a message when refused. */
  extra?: (name: string) => string | null;
}

const noEdgeHyphen = (what: string) => (name: string) => (name.startsWith('-') || name.endsWith('-') ? `${what} must not begin or end with a hyphen` : null);

export const NAME_RULES: readonly NameRule[] = [
  {
    type: TYPES.loadBalancer,
    property: 'name',
    autonamed: true,
    min: 1,
    max: 32,
    pattern: /^[A-Za-z0-9-]+$/,
    patternText: 'alphanumeric characters or hyphens',
    code: 'ValidationError',
    source: 'https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html',
    extra: (name) => noEdgeHyphen('a load balancer name')(name) ?? (name.startsWith('internal-') ? 'a load balancer name must not begin with "internal-"' : null),
  },
  {
    type: TYPES.targetGroup,
    property: 'name',
    autonamed: true,
    min: 1,
    max: 32,
    pattern: /^[A-Za-z0-9-]+$/,
    patternText: 'alphanumeric characters or hyphens',
    code: 'ValidationError',
    source: 'https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html',
    extra: noEdgeHyphen('a target group name'),
  },
  {
    type: TYPES.replicationGroup,
    property: 'replicationGroupId',
    autonamed: true,
    min: 1,
    max: 40,
    pattern: /^[a-z][a-z0-9-]*$/,
    patternText: 'lowercase letters, digits or hyphens, starting with a letter',
    code: 'InvalidParameterValue',
    source: 'https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html',
    extra: (name) => (name.endsWith('-') || name.includes('--') ? 'a replication group id cannot end with a hyphen or contain two consecutive hyphens' : null),
  },
  {
    type: TYPES.role,
    property: 'name',
    autonamed: true,
    min: 1,
    max: 64,
    pattern: /^[\w+=,.@-]+$/,
    patternText: 'letters, digits and +=,.@_-',
    code: 'ValidationError',
    source: 'https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html',
  },
  {
    type: TYPES.instanceProfile,
    property: 'name',
    autonamed: true,
    min: 1,
    max: 128,
    pattern: /^[\w+=,.@-]+$/,
    patternText: 'letters, digits and +=,.@_-',
    code: 'ValidationError',
    source: 'https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateInstanceProfile.html',
  },
  {
    type: TYPES.launchTemplate,
    property: 'name',
    autonamed: true,
    min: 3,
    max: 128,
    pattern: /^[a-zA-Z0-9().\-/_]+$/,
    patternText: 'letters, digits and ().-/_',
    code: 'InvalidLaunchTemplateName.MalformedException',
    source: 'https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplate.html',
  },
  {
    type: TYPES.metricAlarm,
    property: 'name',
    autonamed: true,
    min: 1,
    max: 255,
    // eslint-disable-next-line no-control-regex
    pattern: /^[^\x00-\x1f\x7f]+$/,
    patternText: 'UTF-8 characters without ASCII control characters',
    code: 'ValidationError',
    source: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html',
  },
  {
    type: TYPES.topic,
    property: 'name',
    autonamed: true,
    min: 1,
    max: 256,
    pattern: /^[A-Za-z0-9_-]+(\.fifo)?$/,
    patternText: 'ASCII letters, digits, underscores and hyphens (".fifo" at the end of a FIFO topic only)',
    code: 'InvalidParameter',
    source: 'https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html',
  },
  {
    type: TYPES.secret,
    property: 'name',
    autonamed: true,
    min: 1,
    max: 512,
    pattern: /^[A-Za-z0-9/_+=.@-]+$/,
    patternText: 'ASCII letters, digits and /_+=.@-',
    code: 'ValidationException',
    source: 'https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html',
    // Secrets Manager appends "-" and 6 characters in the ARN; a name that already ends so is ambiguous.
    extra: (name) => (/-[A-Za-z0-9]{6}$/.test(name) ? 'a secret name must not end with a hyphen followed by six characters (ARN matching)' : null),
  },
  {
    type: TYPES.securityGroup,
    property: 'name',
    autonamed: true,
    min: 1,
    max: 255,
    pattern: EC2_DESCRIPTION,
    patternText: 'a-zA-Z0-9, spaces and ._-:/()#,@[]+=&;{}!$*',
    code: 'InvalidParameterValue',
    source: 'https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html',
    extra: (name) => (name.toLowerCase().startsWith('sg-') ? 'a security group name cannot start with "sg-"' : null),
  },
  {
    type: TYPES.lifecycleHook,
    property: 'name',
    autonamed: false,
    min: 1,
    max: 255,
    pattern: /^[A-Za-z0-9\-_/]+$/,
    patternText: 'letters, digits and -_/',
    code: 'ValidationError',
    source: 'https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutLifecycleHook.html',
  },
  {
    type: TYPES.ecrRepository,
    property: 'name',
    autonamed: true,
    min: 2,
    max: 256,
    pattern: /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
    patternText: 'lowercase letters, digits and ._-/ between them',
    code: 'InvalidParameterException',
    source: 'https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html',
  },
  {
    type: TYPES.logGroup,
    property: 'name',
    autonamed: true,
    min: 1,
    max: 512,
    pattern: /^[.\-_/#A-Za-z0-9]+$/,
    patternText: 'letters, digits and ._-/#',
    code: 'InvalidParameterException',
    source: 'https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html',
  },
];

/** The name AWS receives: the name given, namePrefix + 26 characters, or Pulumi's auto-name. */
export function physicalName(rule: Pick<NameRule, 'property' | 'autonamed'>, resource: AwsResourceInput): { name: string; from: string } | null {
  const given = resource.inputs[rule.property];
  if (typeof given === 'string') return { name: given, from: rule.property };
  const prefix = resource.inputs.namePrefix;
  if (typeof prefix === 'string') return { name: `${prefix}${'0'.repeat(NAME_PREFIX_SUFFIX_LENGTH)}`, from: 'namePrefix' };
  if (!rule.autonamed) return null;
  return { name: autonameOf(resource.name), from: `${rule.property} (auto-named from "${resource.name}")` };
}

function nameRefusals(rule: NameRule, resource: AwsResourceInput): Array<Omit<AwsRefusal, 'rule' | 'source'>> {
  const physical = physicalName(rule, resource);
  if (!physical) return [{ input: rule.property, message: `${rule.code}: ${rule.property} is required` }];
  const { name, from } = physical;
  const problems: string[] = [];
  if (name.length < rule.min || name.length > rule.max) {
    const suffix =
      from === 'namePrefix' ? ` (the prefix plus the ${NAME_PREFIX_SUFFIX_LENGTH} characters the provider appends)` : from.startsWith(`${rule.property} (auto`) ? ` (with Pulumi's ${PULUMI_AUTONAME_SUFFIX_LENGTH}-character suffix)` : '';
    problems.push(`is ${name.length} characters${suffix}; allowed ${rule.min}-${rule.max}`);
  }
  if (rule.pattern && !rule.pattern.test(name)) problems.push(`must contain only ${rule.patternText}`);
  const extra = rule.extra?.(name);
  if (extra) problems.push(extra);
  return problems.map((problem) => ({ input: from.split(' ')[0]!, message: `${rule.code}: name "${name}" ${problem}` }));
}

// --- Tags ------------------------------------------------------------------------------------------

export const TAG_LIMITS = { count: 50, keyLength: 128, valueLength: 256 } as const;
const TAGS_SOURCE = 'https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html';

/** Tags as pairs, from a map (most resources) or a list of {key, value} (autoscaling groups). */
function tagPairs(tags: unknown): Array<[string, string]> | null {
  if (Array.isArray(tags)) return tags.map((t) => [String((t as { key?: unknown }).key ?? ''), String((t as { value?: unknown }).value ?? '')]);
  if (tags && typeof tags === 'object') return Object.entries(tags as Record<string, unknown>).map(([k, v]) => [k, String(v ?? '')]);
  return null;
}

function tagRefusals(resource: AwsResourceInput): Array<Omit<AwsRefusal, 'rule' | 'source'>> {
  const out: Array<Omit<AwsRefusal, 'rule' | 'source'>> = [];
  const lists: Array<[string, unknown]> = [['tags', resource.inputs.tags]];
  // Launch templates tag what they launch too: the same limits apply to each specification.
  const specs = resource.inputs.tagSpecifications;
  if (Array.isArray(specs)) specs.forEach((s, i) => lists.push([`tagSpecifications[${i}].tags`, (s as { tags?: unknown }).tags]));
  for (const [path, tags] of lists) {
    const pairs = tagPairs(tags);
    if (!pairs) continue;
    if (pairs.length > TAG_LIMITS.count) out.push({ input: path, message: `InvalidParameterValue: ${pairs.length} tags; at most ${TAG_LIMITS.count} per resource` });
    for (const [key, value] of pairs) {
      if (key.length < 1 || key.length > TAG_LIMITS.keyLength) out.push({ input: `${path}.${key}`, message: `InvalidParameterValue: tag key is ${key.length} characters; allowed 1-${TAG_LIMITS.keyLength}` });
      if (value.length > TAG_LIMITS.valueLength) out.push({ input: `${path}.${key}`, message: `InvalidParameterValue: tag value is ${value.length} characters; at most ${TAG_LIMITS.valueLength}` });
      if (key.toLowerCase().startsWith('aws:')) out.push({ input: `${path}.${key}`, message: 'InvalidParameterValue: tag keys beginning with "aws:" are reserved for AWS use' });
    }
  }
  return out;
}

// --- User data ---------------------------------------------------------------------------------------

/** EC2's user data limit, in raw form before base64. */
export const USER_DATA_LIMIT_BYTES = 16_384;

function userDataBytes(resource: AwsResourceInput): number | null {
  const { inputs } = resource;
  if (resource.type === TYPES.instance) {
    if (typeof inputs.userData === 'string') return Buffer.byteLength(inputs.userData, 'utf8');
    if (typeof inputs.userDataBase64 === 'string') return Buffer.from(inputs.userDataBase64, 'base64').length;
  }
  if (resource.type === TYPES.launchTemplate && typeof inputs.userData === 'string') return Buffer.from(inputs.userData, 'base64').length;
  return null;
}

// --- Autoscaling -------------------------------------------------------------------------------------

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function healthyRange(path: string, value: unknown): Array<Omit<AwsRefusal, 'rule' | 'source'>> {
  if (!value || typeof value !== 'object') return [];
  const v = value as { minHealthyPercentage?: unknown; maxHealthyPercentage?: unknown };
  const min = v.minHealthyPercentage;
  const max = v.maxHealthyPercentage;
  const out: Array<Omit<AwsRefusal, 'rule' | 'source'>> = [];
  if (isNumber(min) && (min < 0 || min > 100)) out.push({ input: `${path}.minHealthyPercentage`, message: `ValidationError: MinHealthyPercentage ${min} is outside 0-100` });
  if (isNumber(max) && (max < 100 || max > 200)) out.push({ input: `${path}.maxHealthyPercentage`, message: `ValidationError: MaxHealthyPercentage ${max} is outside 100-200` });
  if (isNumber(min) && isNumber(max) && max - min > 100) {
    out.push({ input: path, message: `ValidationError: MaxHealthyPercentage (${max}) and MinHealthyPercentage (${min}) may differ by at most 100` });
  }
  return out;
}

// --- ElastiCache AUTH ----------------------------------------------------------------------------------

/** CreateReplicationGroup AuthToken: printable ASCII, 16-128, and of the specials only !&#$^<>- . */
export const AUTH_TOKEN = /^[A-Za-z0-9!&#$^<>-]{16,128}$/;

// --- SSM parameters --------------------------------------------------------------------------------------

/** Standard-tier parameter values: at most 4 KB. */
export const SSM_STANDARD_VALUE_MAX_BYTES = 4096;

// --- Load balancer target groups and listeners ------------------------------------------------------------

/** Health check protocols ELB refuses (API_TargetGroup HealthCheckProtocol: "The GENEVE, TLS, UDP, and TCP_UDP protocols are not supported for health checks"). */
export const UNSUPPORTED_HEALTH_CHECK_PROTOCOLS: readonly string[] = ['GENEVE', 'TLS', 'UDP', 'TCP_UDP'];

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function wholeIn(path: string, value: unknown, min: number, max: number, what: string): Array<Omit<AwsRefusal, 'rule' | 'source'>> {
  if (value === undefined || value === null) return [];
  const n = Number(value);
  return Number.isInteger(n) && n >= min && n <= max ? [] : [{ input: path, message: `ValidationError: ${what} ${String(value)} is outside ${min}-${max}` }];
}

function targetGroupRefusals(r: AwsResourceInput): Array<Omit<AwsRefusal, 'rule' | 'source'>> {
  const out: Array<Omit<AwsRefusal, 'rule' | 'source'>> = [];
  const protocol = String(r.inputs.protocol ?? '').toUpperCase();
  const check = record(r.inputs.healthCheck);
  // CreateTargetGroup: TCP is the default health check of a TCP, TLS, UDP or TCP_UDP group, HTTP of an HTTP(S) one.
  const checkProtocol = String(check.protocol ?? (protocol.startsWith('HTTP') ? 'HTTP' : 'TCP')).toUpperCase();
  if (UNSUPPORTED_HEALTH_CHECK_PROTOCOLS.includes(checkProtocol)) {
    out.push({ input: 'healthCheck.protocol', message: `ValidationError: Health check protocol ${checkProtocol} is not supported: the GENEVE, TLS, UDP, and TCP_UDP protocols are not supported for health checks` });
  }
  if (checkProtocol === 'TCP' && (check.path !== undefined || check.matcher !== undefined)) {
    // terraform-provider-aws elbv2/target_group.go resourceTargetGroupCustomizeDiff: path and matcher conflict with a TCP check.
    out.push({ input: 'healthCheck', message: 'ValidationError: a TCP health check takes no path and no matcher (HTTP and HTTPS checks do)' });
  }
  if (checkProtocol === 'TCP' && protocol.startsWith('HTTP')) out.push({ input: 'healthCheck.protocol', message: `ValidationError: the TCP health check is not supported for ${protocol} target groups` });
  out.push(
    ...wholeIn('healthCheck.interval', check.interval, 5, 300, 'HealthCheckIntervalSeconds'),
    ...wholeIn('healthCheck.timeout', check.timeout, 2, 120, 'HealthCheckTimeoutSeconds'),
    ...wholeIn('healthCheck.healthyThreshold', check.healthyThreshold, 2, 10, 'HealthyThresholdCount'),
    ...wholeIn('healthCheck.unhealthyThreshold', check.unhealthyThreshold, 2, 10, 'UnhealthyThresholdCount'),
    ...wholeIn('deregistrationDelay', r.inputs.deregistrationDelay, 0, 3600, 'deregistration_delay.timeout_seconds'),
  );
  if (check.port !== undefined && check.port !== 'traffic-port') out.push(...wholeIn('healthCheck.port', check.port, 1, 65_535, 'HealthCheckPort'));
  if ((r.inputs.targetType ?? 'instance') !== 'lambda') out.push(...wholeIn('port', r.inputs.port ?? 0, 1, 65_535, 'Port'));
  // Edit target group attributes (NLB): "client IP preservation is enabled (and can't be disabled) for ... UDP, TCP_UDP".
  if ((protocol === 'UDP' || protocol === 'TCP_UDP') && String(r.inputs.preserveClientIp) === 'false') {
    out.push({ input: 'preserveClientIp', message: `InvalidConfigurationRequest: client IP preservation cannot be disabled for ${protocol} target groups` });
  }
  return out;
}

function listenerRefusals(r: AwsResourceInput): Array<Omit<AwsRefusal, 'rule' | 'source'>> {
  const out: Array<Omit<AwsRefusal, 'rule' | 'source'>> = [];
  const protocol = String(r.inputs.protocol ?? '').toUpperCase();
  const secure = protocol === 'TLS' || protocol === 'HTTPS';
  // CreateListener: Certificates "[HTTPS and TLS listeners] ... You must provide exactly one certificate"; SslPolicy "[HTTPS and TLS listeners]".
  if (secure && !r.inputs.certificateArn) out.push({ input: 'certificateArn', message: `CertificateNotFound: a ${protocol} listener needs exactly one certificate` });
  if (!secure && (r.inputs.certificateArn !== undefined || r.inputs.sslPolicy !== undefined)) {
    out.push({ input: r.inputs.certificateArn !== undefined ? 'certificateArn' : 'sslPolicy', message: `ValidationError: certificates and SSL policies apply to HTTPS and TLS listeners, not ${protocol || 'this'} listener` });
  }
  out.push(...wholeIn('port', r.inputs.port ?? 0, 1, 65_535, 'Port'));
  return out;
}

// --- The rules -------------------------------------------------------------------------------------------

export const AWS_RULES: readonly Rule[] = [
  {
    id: 'security-group-rule-description',
    types: [TYPES.ingressRule, TYPES.egressRule, TYPES.securityGroupRule, TYPES.securityGroup],
    source: IP_RANGE_SOURCE,
    check(r) {
      if (r.type !== TYPES.securityGroup) return ruleDescription('description', r.inputs.description);
      const out: Array<Omit<AwsRefusal, 'rule' | 'source'>> = [];
      for (const direction of ['ingress', 'egress'] as const) {
        const rules = r.inputs[direction];
        if (Array.isArray(rules)) rules.forEach((rule, i) => out.push(...ruleDescription(`${direction}[${i}].description`, (rule as { description?: unknown }).description)));
      }
      return out;
    },
  },
  {
    id: 'security-group-description',
    types: [TYPES.securityGroup],
    source: 'https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html',
    check(r) {
      const text = r.inputs.description;
      if (text === undefined) return [];
      const value = String(text);
      if (value.length <= EC2_DESCRIPTION_MAX && EC2_DESCRIPTION.test(value)) return [];
      return [{ input: 'description', message: 'InvalidParameterValue: Invalid security group description: up to 255 characters from a-zA-Z0-9, spaces and ._-:/()#,@[]+=&;{}!$*' }];
    },
  },
  ...NAME_RULES.map(
    (rule): Rule => ({
      id: `name-${rule.type.split(':').at(-1)!.replace(/[A-Z]/g, (c, i: number) => `${i ? '-' : ''}${c.toLowerCase()}`)}`,
      types: [rule.type],
      source: rule.source,
      check: (r) => nameRefusals(rule, r),
    }),
  ),
  {
    id: 'tags',
    types: '*',
    source: TAGS_SOURCE,
    check: tagRefusals,
  },
  {
    id: 'instance-metadata-tag-keys',
    types: [TYPES.instance, TYPES.launchTemplate],
    source: 'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/work-with-tags-in-IMDS.html',
    check(r) {
      // With tags in instance metadata, an instance tag key outside [a-zA-Z0-9+-=.,_:@] fails the launch.
      const metadata = r.inputs.metadataOptions as { instanceMetadataTags?: unknown } | undefined;
      if (metadata?.instanceMetadataTags !== 'enabled') return [];
      const lists: Array<[string, unknown]> = [['tags', r.inputs.tags]];
      const specs = r.inputs.tagSpecifications;
      if (Array.isArray(specs)) {
        specs.forEach((spec, i) => {
          if ((spec as { resourceType?: unknown }).resourceType === 'instance') lists.push([`tagSpecifications[${i}].tags`, (spec as { tags?: unknown }).tags]);
        });
      }
      if (r.type === TYPES.launchTemplate) lists.shift(); // a launch template's own tags are not instance tags
      const out: Array<Omit<AwsRefusal, 'rule' | 'source'>> = [];
      for (const [path, tags] of lists) {
        for (const [key] of tagPairs(tags) ?? []) {
          if (!/^[a-zA-Z0-9+\-=.,_:@]+$/.test(key) || key === '.' || key === '..' || key === '_index') {
            out.push({ input: `${path}.${key}`, message: `InvalidParameterValue: with tags in instance metadata, tag key "${key}" may contain only letters, digits and + - = . , _ : @` });
          }
        }
      }
      return out;
    },
  },
  {
    id: 'user-data-size',
    types: [TYPES.instance, TYPES.launchTemplate],
    source: 'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html',
    check(r) {
      const bytes = userDataBytes(r);
      if (bytes === null || bytes <= USER_DATA_LIMIT_BYTES) return [];
      return [{ input: 'userData', message: `InvalidParameterValue: User data is limited to ${USER_DATA_LIMIT_BYTES} bytes (got ${bytes} before base64)` }];
    },
  },
  {
    id: 'autoscaling-group-size',
    types: [TYPES.group],
    source: 'https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CreateAutoScalingGroup.html',
    check(r) {
      const { minSize, maxSize, desiredCapacity } = r.inputs;
      const out: Array<Omit<AwsRefusal, 'rule' | 'source'>> = [];
      if (!isNumber(minSize) || !isNumber(maxSize)) return [{ input: 'minSize/maxSize', message: 'ValidationError: MinSize and MaxSize are required' }];
      if (minSize < 0) out.push({ input: 'minSize', message: `ValidationError: MinSize ${minSize} must be at least 0` });
      if (minSize > maxSize) out.push({ input: 'minSize', message: `ValidationError: Max bound, ${maxSize}, must be greater than or equal to min bound, ${minSize}` });
      if (isNumber(desiredCapacity) && (desiredCapacity < minSize || desiredCapacity > maxSize)) {
        out.push({ input: 'desiredCapacity', message: `ValidationError: Desired capacity:${desiredCapacity} must be between the specified min size:${minSize} and max size:${maxSize}` });
      }
      const refresh = r.inputs.instanceRefresh as { preferences?: unknown } | undefined;
      out.push(...healthyRange('instanceRefresh.preferences', refresh?.preferences), ...healthyRange('instanceMaintenancePolicy', r.inputs.instanceMaintenancePolicy));
      const grace = r.inputs.healthCheckGracePeriod;
      if (isNumber(grace) && (grace < 0 || grace > 7200)) out.push({ input: 'healthCheckGracePeriod', message: `ValidationError: HealthCheckGracePeriod ${grace} is outside 0-7200 seconds` });
      return out;
    },
  },
  {
    id: 'lifecycle-hook',
    types: [TYPES.lifecycleHook],
    source: 'https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutLifecycleHook.html',
    check(r) {
      const out: Array<Omit<AwsRefusal, 'rule' | 'source'>> = [];
      const heartbeat = r.inputs.heartbeatTimeout;
      if (heartbeat !== undefined && (!isNumber(heartbeat) || !Number.isInteger(heartbeat) || heartbeat < 30 || heartbeat > 7200)) {
        out.push({ input: 'heartbeatTimeout', message: `ValidationError: HeartbeatTimeout ${String(heartbeat)} must be a whole number of seconds from 30 to 7200` });
      }
      const result = r.inputs.defaultResult;
      if (result !== undefined && result !== 'CONTINUE' && result !== 'ABANDON') out.push({ input: 'defaultResult', message: `ValidationError: DefaultResult ${JSON.stringify(result)} must be CONTINUE or ABANDON` });
      const transition = r.inputs.lifecycleTransition;
      if (transition !== 'autoscaling:EC2_INSTANCE_LAUNCHING' && transition !== 'autoscaling:EC2_INSTANCE_TERMINATING') {
        out.push({ input: 'lifecycleTransition', message: `ValidationError: LifecycleTransition ${JSON.stringify(transition)} must be autoscaling:EC2_INSTANCE_LAUNCHING or autoscaling:EC2_INSTANCE_TERMINATING` });
      }
      return out;
    },
  },
  {
    id: 'elasticache-auth-token',
    types: [TYPES.replicationGroup],
    source: 'https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html',
    check(r) {
      const token = r.inputs.authToken;
      if (token === undefined || token === null) return [];
      const out: Array<Omit<AwsRefusal, 'rule' | 'source'>> = [];
      // The token is a secret: describe it, never echo it.
      if (typeof token !== 'string' || !AUTH_TOKEN.test(token)) {
        out.push({
          input: 'authToken',
          message: `InvalidParameterValue: the AUTH token (${typeof token === 'string' ? `${token.length} characters` : typeof token}) must be 16-128 printable ASCII characters whose only special characters are !&#$^<>-`,
        });
      }
      if (r.inputs.transitEncryptionEnabled !== true) {
        out.push({ input: 'authToken', message: 'InvalidParameterCombination: AuthToken can be specified only on replication groups where TransitEncryptionEnabled is true' });
      }
      return out;
    },
  },
  {
    id: 'ssm-parameter',
    types: [TYPES.ssmParameter],
    source: 'https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-parameter-name-constraints.html',
    check(r) {
      const out: Array<Omit<AwsRefusal, 'rule' | 'source'>> = [];
      const name = typeof r.inputs.name === 'string' ? r.inputs.name : autonameOf(r.name);
      if (!/^[a-zA-Z0-9_.\-/]+$/.test(name)) out.push({ input: 'name', message: `ValidationException: parameter name "${name}" may contain only a-zA-Z0-9_.-/` });
      if (name.length > 1011) out.push({ input: 'name', message: `ValidationException: parameter name is ${name.length} characters; at most 1011` });
      if (/^\/?(aws|ssm)/i.test(name)) out.push({ input: 'name', message: `ValidationException: parameter name "${name}" must not begin with aws or ssm` });
      if (name.includes('/') && !name.startsWith('/')) out.push({ input: 'name', message: `ValidationException: hierarchical parameter name "${name}" must begin with "/"` });
      if (name.split('/').length - 1 > 15) out.push({ input: 'name', message: `ValidationException: parameter name "${name}" has more than 15 hierarchy levels` });
      const value = r.inputs.value ?? r.inputs.insecureValue;
      const tier = r.inputs.tier ?? 'Standard';
      if (typeof value === 'string' && tier === 'Standard' && Buffer.byteLength(value, 'utf8') > SSM_STANDARD_VALUE_MAX_BYTES) {
        out.push({ input: 'value', message: `ValidationException: a Standard parameter value is at most ${SSM_STANDARD_VALUE_MAX_BYTES} bytes` });
      }
      return out;
    },
  },
  {
    id: 'target-group',
    types: [TYPES.targetGroup],
    source: 'https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html',
    check: targetGroupRefusals,
  },
  {
    id: 'listener',
    types: [TYPES.listener],
    source: 'https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateListener.html',
    check: listenerRefusals,
  },
  {
    id: 'ebs-volume',
    types: [TYPES.volume],
    source: 'https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVolume.html',
    check(r) {
      const out: Array<Omit<AwsRefusal, 'rule' | 'source'>> = [];
      if (typeof r.inputs.availabilityZone !== 'string' || r.inputs.availabilityZone === '') out.push({ input: 'availabilityZone', message: 'MissingParameter: The request must contain the parameter AvailabilityZone' });
      const size = r.inputs.size;
      const limits: Record<string, [number, number]> = { gp3: [1, 16_384], gp2: [1, 16_384], io1: [4, 16_384], io2: [4, 65_536], st1: [125, 16_384], sc1: [125, 16_384], standard: [1, 1024] };
      const [min, max] = limits[String(r.inputs.type ?? 'gp2')] ?? [1, 16_384];
      if (r.inputs.snapshotId === undefined && (!isNumber(size) || !Number.isInteger(size) || size < min || size > max)) {
        out.push({ input: 'size', message: `InvalidParameterValue: Volume size ${String(size)} GiB of type ${String(r.inputs.type ?? 'gp2')} must be ${min}-${max}` });
      }
      return out;
    },
  },
];

/** Every refusal AWS would give the resource's create call (empty when AWS would accept it). */
export function awsRefusals(resource: AwsResourceInput): AwsRefusal[] {
  if (!resource.type.startsWith('aws:')) return [];
  return AWS_RULES.filter((rule) => rule.types === '*' || rule.types.includes(resource.type)).flatMap((rule) =>
    rule.check(resource).map((refusal) => ({ ...refusal, rule: rule.id, source: rule.source })),
  );
}

/** One line naming the resource, the input, AWS's answer and the rule with its source. */
export function formatRefusal(resource: Pick<AwsResourceInput, 'type' | 'name'>, refusal: AwsRefusal): string {
  return `AWS would refuse ${resource.type} "${resource.name}": ${refusal.input}: ${refusal.message} [rule ${refusal.rule}; ${refusal.source}]`;
}
