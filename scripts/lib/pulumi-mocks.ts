/**
 * Pulumi mocks that behave like the engine where this project's checks depend on it:
 * - outputs are the inputs plus what the provider computes (ARNs, ids, endpoints, autonames),
 *   deterministic, so two runs of the same program give the same offline plan;
 * - secrets stay secret: a secret input comes back secret, and the properties providers mark
 *   secret (RandomPassword.result, ...) are returned as Pulumi secrets, as the engine does;
 * - every registered resource is recorded with its type, name, parent and inputs, secrets shown
 *   as "[secret]";
 * - registration fails, as the create call would, on any input AWS refuses (components/aws/aws-rules.ts:
 *   names and their lengths with Pulumi's auto-name suffix, descriptions, tags, user data, sizes).
 * Used by the vitest setup file (tests/pulumi/setup-mocks.ts) and the offline plan
 * (scripts/lib/offline-plan-child.ts). Install before the program is imported.
 */
import { createHash } from 'node:crypto';
import * as pulumi from '@pulumi/pulumi';
import { awsRefusals, formatRefusal } from '../../components/aws/aws-rules.js';

/** The fake account every mocked ARN carries (12 digits, like a real one: the renderers check ARN shapes). */
export const MOCK_ACCOUNT_ID = '123456789012';
/** Printed in place of a secret value. */
export const SECRET_PLACEHOLDER = '[secret]';

/** One resource the program registered. */
export interface RecordedResource {
  type: string;
  name: string;
  /** Parent resource's name (null for a top-level resource). */
  parent: string | null;
  /** Parent resource's type. */
  parentType: string | null;
  /** Mock id (custom resources); null for components. */
  id: string | null;
  custom: boolean;
  /** Inputs as the engine received them, secrets replaced by "[secret]". */
  inputs: Record<string, unknown>;
  /** Raw inputs, secret values included (tests check that no secret value leaks into other fields). */
  rawInputs: Record<string, unknown>;
  /** Names of the inputs that arrived as secrets. */
  secretInputs: string[];
  /** The physical name the provider computed (given name, prefix or auto-name), where the type has one. */
  physicalName?: string;
  /** Resource options that decide whether a change replaces it (set ones only); absent when none is set. */
  options?: RecordedResourceOptions;
}

/** The resource options the engine weighs when it diffs a resource (from the RegisterResource request). */
export interface RecordedResourceOptions {
  ignoreChanges?: string[];
  replaceOnChanges?: string[];
  deleteBeforeReplace?: boolean;
  retainOnDelete?: boolean;
  protect?: boolean;
}

/** A resource registration AWS would refuse (the message names the resource, the input and the rule). */
export class AwsRefusalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AwsRefusalError';
  }
}

/** Properties providers mark secret, by resource type: the mocks return them as secrets. */
export const SECRET_OUTPUTS: Readonly<Record<string, readonly string[]>> = {
  'random:index/randomPassword:RandomPassword': ['result', 'bcryptHash'],
  'aws:secretsmanager/secretVersion:SecretVersion': ['secretString'],
  'aws:elasticache/replicationGroup:ReplicationGroup': ['authToken'],
  // @pulumi/kubernetes core/v1/secret.ts: additionalSecretOutputs ["data", "stringData"].
  'kubernetes:core/v1:Secret': ['data', 'stringData'],
};

export interface MockOptions {
  region?: string;
}

/** Mocks plus the list they record into. */
export function createMocks(options: MockOptions = {}): {
  mocks: pulumi.runtime.Mocks;
  resources: RecordedResource[];
  parentOf: Map<string, string>;
  optionsOf: Map<string, RecordedResourceOptions>;
  /** Registrations refused (AWS rules): the SDK turns them into rejected outputs nobody may await, so callers check this list. */
  refusals: AwsRefusalError[];
} {
  const region = options.region ?? 'us-east-1';
  const resources: RecordedResource[] = [];
  // type\0name -> parent URN and resource options, filled by the monitor hook before newResource runs.
  const parentOf = new Map<string, string>();
  // type\0name -> resource options, filled by the same hook.
  const optionsOf = new Map<string, RecordedResourceOptions>();
  const refusals: AwsRefusalError[] = [];

  const mocks: pulumi.runtime.Mocks = {
    newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
      const rawInputs = (args.inputs ?? {}) as Record<string, unknown>;
      const secretInputs = Object.keys(rawInputs).filter((k) => pulumi.runtime.isRpcSecret(rawInputs[k]));
      const plain = unwrap(rawInputs) as Record<string, unknown>;
      const parentUrn = parentOf.get(`${args.type}\0${args.name}`) ?? '';
      const custom = args.custom !== false;
      if (custom) {
        // Fail the registration as the create call would fail: one line per refusal.
        const refused = awsRefusals({ type: args.type, name: args.name, inputs: plain });
        if (refused.length > 0) {
          const error = new AwsRefusalError(refused.map((r) => formatRefusal(args, r)).join('\n'));
          refusals.push(error);
          throw error;
        }
      }
      const id = custom ? mockId(args.type, args.name) : null;
      const computed = custom ? computedOutputs(args.type, args.name, plain, region) : {};
      resources.push({
        type: args.type,
        name: args.name,
        parent: parentUrn ? urnName(parentUrn) : null,
        parentType: parentUrn ? urnType(parentUrn) : null,
        id,
        custom,
        inputs: redact(rawInputs) as Record<string, unknown>,
        rawInputs: plain,
        secretInputs,
        ...(typeof computed.name === 'string' ? { physicalName: computed.name } : {}),
        ...(optionsOf.has(`${args.type}\0${args.name}`) ? { options: optionsOf.get(`${args.type}\0${args.name}`) } : {}),
      });
      if (!custom) return { id: undefined, state: {} };
      // Secret inputs stay secret in the state (rawInputs keeps the engine's secret markers).
      const state: Record<string, unknown> = { ...rawInputs, ...computed };
      for (const key of SECRET_OUTPUTS[args.type] ?? []) {
        if (state[key] !== undefined && !pulumi.runtime.isRpcSecret(state[key])) state[key] = pulumi.secret(state[key]);
      }
      return { id: id ?? undefined, state };
    },
    call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
      return invokeResult(args.token, (args.inputs ?? {}) as Record<string, unknown>, region);
    },
  };
  return { mocks, resources, parentOf, optionsOf, refusals };
}

/**
 * Installs the mocks and hooks the mock monitor so each resource's parent is known (the mocks
 * API does not pass it). Call before the program is imported.
 */
export async function installMocks(
  options: MockOptions & { project?: string; stack?: string; config?: Record<string, string>; secretKeys?: string[] } = {},
): Promise<{ resources: RecordedResource[]; refusals: AwsRefusalError[] }> {
  const { mocks, resources, parentOf, optionsOf, refusals } = createMocks(options);
  await pulumi.runtime.setMocks(mocks, options.project ?? 'voice-agent-infra', options.stack ?? 'test', false);
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterResourceRequest, callback: unknown): unknown;
  };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    const key = `${req.getType()}\0${req.getName()}`;
    parentOf.set(key, req.getParent());
    const recorded = resourceOptionsOf(req);
    if (recorded) optionsOf.set(key, recorded);
    return original(req, callback);
  };
  if (options.config) pulumi.runtime.setAllConfig(options.config, options.secretKeys);
  return { resources, refusals };
}

/** The parts of the SDK's RegisterResourceRequest (proto/resource_pb) the mocks read. */
interface RegisterResourceRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getIgnorechangesList(): string[];
  getReplaceonchangesList(): string[];
  getDeletebeforereplace(): boolean;
  getRetainondelete(): boolean | undefined;
  getProtect(): boolean | undefined;
}

/** The diff-relevant options set on a registration (runtime/resource.js sets them from the resource options); undefined when none is. */
export function resourceOptionsOf(req: RegisterResourceRequest): RecordedResourceOptions | undefined {
  const options: RecordedResourceOptions = {};
  if (req.getIgnorechangesList().length > 0) options.ignoreChanges = req.getIgnorechangesList();
  if (req.getReplaceonchangesList().length > 0) options.replaceOnChanges = req.getReplaceonchangesList();
  if (req.getDeletebeforereplace()) options.deleteBeforeReplace = true;
  if (req.getRetainondelete()) options.retainOnDelete = true;
  if (req.getProtect()) options.protect = true;
  return Object.keys(options).length > 0 ? options : undefined;
}

/** Waits until every registration the program started has been answered. */
export async function waitForRegistrations(): Promise<void> {
  // waitForRPCs is internal to the SDK (disconnect() uses it); it is the only way to know that
  // resources nobody awaits (rules, attachments) are registered too.
  const runtime = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
  if (runtime.waitForRPCs) await runtime.waitForRPCs();
}

function urnName(urn: string): string {
  return urn.split('::').at(-1) ?? urn;
}

function urnType(urn: string): string {
  return (urn.split('::')[2] ?? '').split('$').at(-1) ?? '';
}

/** Replaces secrets (the engine's secret markers) by "[secret]", recursively. */
export function redact(value: unknown): unknown {
  if (pulumi.runtime.isRpcSecret(value)) return SECRET_PLACEHOLDER;
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object' && !(value instanceof pulumi.asset.Asset) && !(value instanceof pulumi.asset.Archive)) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, redact(v)]));
  }
  return value;
}

/** Removes the secret markers, keeping the values. */
function unwrap(value: unknown): unknown {
  if (pulumi.runtime.isRpcSecret(value)) return unwrap(pulumi.runtime.unwrapRpcSecret(value));
  if (Array.isArray(value)) return value.map(unwrap);
  if (value && typeof value === 'object' && !(value instanceof pulumi.asset.Asset) && !(value instanceof pulumi.asset.Archive)) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, unwrap(v)]));
  }
  return value;
}

function hex(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

const ID_PREFIXES: Readonly<Record<string, string>> = {
  'aws:ec2/vpc:Vpc': 'vpc-',
  'aws:ec2/subnet:Subnet': 'subnet-',
  'aws:ec2/internetGateway:InternetGateway': 'igw-',
  'aws:ec2/routeTable:RouteTable': 'rtb-',
  'aws:ec2/routeTableAssociation:RouteTableAssociation': 'rtbassoc-',
  'aws:ec2/securityGroup:SecurityGroup': 'sg-',
  'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule': 'sgr-',
  'aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule': 'sgr-',
  'aws:ec2/instance:Instance': 'i-',
  'aws:ec2/eip:Eip': 'eipalloc-',
  'aws:ec2/eipAssociation:EipAssociation': 'eipassoc-',
  'aws:ec2/launchTemplate:LaunchTemplate': 'lt-',
  'aws:ebs/volume:Volume': 'vol-',
  'aws:ec2/volumeAttachment:VolumeAttachment': 'vai-',
};

/** A deterministic id of the provider's shape. */
function mockId(type: string, name: string): string {
  const prefix = ID_PREFIXES[type];
  return prefix ? `${prefix}0${hex(`${type}/${name}`, 16)}` : `${name}-${hex(`${type}/${name}`, 7)}`;
}

/** Physical name the provider would pick for an autonamed resource: name + "-" + 7 hex. */
function autoname(name: string, type: string): string {
  return `${name}-${hex(`autoname/${type}/${name}`, 7)}`;
}

function arn(service: string, region: string, resource: string): string {
  return `arn:aws:${service}:${region}:${MOCK_ACCOUNT_ID}:${resource}`;
}

/** What a provider computes on create, for the types this program uses. */
function computedOutputs(type: string, name: string, inputs: Record<string, unknown>, region: string): Record<string, unknown> {
  if (type.startsWith('kubernetes:')) return kubernetesOutputs(type, name, inputs, region);
  const given = (key: string) => (typeof inputs[key] === 'string' ? (inputs[key] as string) : undefined);
  const physical = given('name') ?? (given('namePrefix') ? `${given('namePrefix')}${hex(`prefix/${name}`, 26)}` : autoname(name, type));
  const id = mockId(type, name);
  switch (type) {
    case 'aws:ec2/vpc:Vpc':
      return { arn: arn('ec2', region, `vpc/${id}`) };
    case 'aws:ec2/subnet:Subnet':
      return { arn: arn('ec2', region, `subnet/${id}`) };
    case 'aws:ec2/securityGroup:SecurityGroup':
      return { arn: arn('ec2', region, `security-group/${id}`), name: physical };
    case 'aws:ec2/instance:Instance':
      return {
        arn: arn('ec2', region, `instance/${id}`),
        privateIp: `10.40.${parseInt(hex(name, 2), 16) % 16}.${10 + (parseInt(hex(name, 2), 16) % 200)}`,
        publicIp: '198.51.100.20',
      };
    case 'aws:ec2/eip:Eip':
      return { allocationId: id, publicIp: `203.0.113.${10 + (parseInt(hex(name, 2), 16) % 200)}` };
    case 'aws:ec2/launchTemplate:LaunchTemplate':
      return { arn: arn('ec2', region, `launch-template/${id}`), latestVersion: 1, defaultVersion: 1, name: physical };
    case 'aws:autoscaling/group:Group':
      return { arn: arn('autoscaling', region, `autoScalingGroup:${hex(name, 8)}:autoScalingGroupName/${physical}`), name: physical };
    case 'aws:autoscaling/policy:Policy':
      return { arn: arn('autoscaling', region, `scalingPolicy:${hex(name, 8)}:policyName/${physical}`), name: physical };
    case 'aws:iam/role:Role':
    case 'aws:iam/instanceProfile:InstanceProfile': {
      const kind = type.endsWith('Role') ? 'role' : 'instance-profile';
      return { arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:${kind}/${physical}`, name: physical, uniqueId: `AROA${hex(name, 16).toUpperCase()}` };
    }
    case 'aws:secretsmanager/secret:Secret':
      // Secrets Manager appends "-" and 6 random characters to the name in the ARN.
      return { arn: arn('secretsmanager', region, `secret:${physical}-${hex(`suffix/${name}`, 6)}`), name: physical };
    case 'aws:cloudwatch/logGroup:LogGroup':
      return { arn: arn('logs', region, `log-group:${physical}`), name: physical };
    case 'aws:ecr/repository:Repository':
      return {
        arn: arn('ecr', region, `repository/${physical}`),
        name: physical,
        registryId: MOCK_ACCOUNT_ID,
        repositoryUrl: `${MOCK_ACCOUNT_ID}.dkr.ecr.${region}.amazonaws.com/${physical}`,
      };
    case 'docker-build:index:Image': {
      const digest = `sha256:${createHash('sha256').update(JSON.stringify(inputs.tags ?? [])).digest('hex')}`;
      const tags = (inputs.tags as string[] | undefined) ?? [];
      return { digest, ref: tags[0] ? `${tags[0]}@${digest}` : digest };
    }
    case 'aws:lb/loadBalancer:LoadBalancer':
      return {
        arn: arn('elasticloadbalancing', region, `loadbalancer/net/${physical}/${hex(name, 16)}`),
        name: physical,
        dnsName: `${physical}-${hex(name, 10)}.elb.${region}.amazonaws.com`,
        zoneId: 'Z26RNL4JYFTOTI',
      };
    case 'aws:lb/targetGroup:TargetGroup':
      return { arn: arn('elasticloadbalancing', region, `targetgroup/${physical}/${hex(name, 16)}`), name: physical };
    case 'aws:lb/listener:Listener':
      return { arn: arn('elasticloadbalancing', region, `listener/net/${hex(name, 16)}`) };
    case 'aws:acm/certificate:Certificate': {
      const names = [inputs.domainName, ...((inputs.subjectAlternativeNames as string[] | undefined) ?? [])].filter((n): n is string => typeof n === 'string');
      return {
        arn: arn('acm', region, `certificate/${hex(name, 8)}-${hex(name, 4)}-4${hex(name, 3)}-8${hex(name, 3)}-${hex(name, 12)}`),
        domainValidationOptions: names.map((n) => ({
          domainName: n,
          resourceRecordName: `_${hex(n, 32)}.${n}.`,
          resourceRecordType: 'CNAME',
          resourceRecordValue: `_${hex(`v/${n}`, 32)}.acm-validations.aws.`,
        })),
      };
    }
    case 'aws:acm/certificateValidation:CertificateValidation':
      return { certificateArn: inputs.certificateArn };
    case 'aws:route53/record:Record':
      return { fqdn: typeof inputs.name === 'string' ? inputs.name.replace(/\.$/, '') : name };
    case 'aws:elasticache/replicationGroup:ReplicationGroup':
      return {
        arn: arn('elasticache', region, `replicationgroup:${physical}`),
        primaryEndpointAddress: `master.${physical}.${hex(name, 6)}.use1.cache.amazonaws.com`,
        readerEndpointAddress: `replica.${physical}.${hex(name, 6)}.use1.cache.amazonaws.com`,
        replicationGroupId: physical,
      };
    case 'aws:elasticache/subnetGroup:SubnetGroup':
    case 'aws:elasticache/parameterGroup:ParameterGroup':
      return { arn: arn('elasticache', region, `${type.includes('subnet') ? 'subnetgroup' : 'parametergroup'}:${physical}`), name: physical };
    case 'aws:sns/topic:Topic':
      return { arn: arn('sns', region, physical), name: physical };
    case 'aws:cloudwatch/metricAlarm:MetricAlarm':
      return { arn: arn('cloudwatch', region, `alarm:${physical}`), name: physical };
    case 'aws:ebs/volume:Volume':
      return { arn: arn('ec2', region, `volume/${id}`) };
    case 'aws:ssm/parameter:Parameter': {
      // The ARN has no slash between "parameter" and a hierarchical name: parameter/voice-agent/x.
      const parameter = given('name') ?? physical;
      return { arn: arn('ssm', region, `parameter${parameter.startsWith('/') ? '' : '/'}${parameter}`), name: parameter, version: 1 };
    }
    case 'aws:autoscaling/lifecycleHook:LifecycleHook':
      return {};
    case 'aws:cloudwatch/dashboard:Dashboard':
      return { dashboardArn: `arn:aws:cloudwatch::${MOCK_ACCOUNT_ID}:dashboard/${given('dashboardName') ?? physical}` };
    case 'random:index/randomString:RandomString':
    case 'random:index/randomPassword:RandomPassword': {
      const length = typeof inputs.length === 'number' ? inputs.length : 16;
      let text = '';
      for (let i = 0; text.length < length; i++) text += hex(`${type}/${name}/${i}`, 64);
      // Mixed case like the provider's output, deterministic.
      return { result: text.slice(0, length).replace(/[a-f]/g, (c, i: number) => (i % 2 ? c.toUpperCase() : c)) };
    }
    default:
      return type.startsWith('aws:') && !('arn' in inputs) ? { arn: arn(type.split(':')[1]?.split('/')[0] ?? 'aws', region, `${physical}`) } : {};
  }
}

/** Kinds that live outside any namespace (the provider sets no namespace on them). */
const CLUSTER_SCOPED_KINDS = new Set(['Namespace', 'Node', 'PersistentVolume', 'StorageClass', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PriorityClass', 'ClusterIssuer']);

/**
 * What the Kubernetes provider returns for an object, where this program reads it. From
 * pulumi/pulumi-kubernetes provider/pkg/metadata/naming.go (AssignNameIfAutonamable: an object
 * without metadata.name is named `<resource name>-<8 random hex>` via resource.NewUniqueName and
 * annotated `pulumi.com/autonamed: "true"`) and provider/pkg/provider/provider.go (Check: a
 * namespaced object without a namespace gets the provider's default namespace, "default" unless
 * configured). The API server adds apiVersion/kind as sent, a uid, a ClusterIP for Services, and the
 * provider waits for a LoadBalancer Service's address (await/service.go): a hostname on AWS (the
 * in-tree NLB), an IP elsewhere.
 */
function kubernetesOutputs(type: string, name: string, inputs: Record<string, unknown>, region: string): Record<string, unknown> {
  const [, groupVersion = '', kind = ''] = type.split(':');
  const apiVersion = groupVersion.startsWith('core/') ? groupVersion.slice('core/'.length) : groupVersion;
  const metadata = { ...((inputs.metadata as Record<string, unknown> | undefined) ?? {}) };
  if (typeof metadata.name !== 'string' || metadata.name === '') {
    metadata.name = `${name}-${hex(`k8s-autoname/${type}/${name}`, 8)}`;
    metadata.annotations = { ...((metadata.annotations as Record<string, string> | undefined) ?? {}), 'pulumi.com/autonamed': 'true' };
  }
  if (!CLUSTER_SCOPED_KINDS.has(kind) && (typeof metadata.namespace !== 'string' || metadata.namespace === '')) metadata.namespace = 'default';
  metadata.uid = `${hex(`uid/${type}/${name}`, 8)}-${hex(`uid2/${name}`, 4)}-4${hex(`uid3/${name}`, 3)}-8${hex(`uid4/${name}`, 3)}-${hex(`uid5/${name}`, 12)}`;
  const out: Record<string, unknown> = { apiVersion, kind, metadata };
  if (kind === 'Service') {
    const spec = { ...((inputs.spec as Record<string, unknown> | undefined) ?? {}) };
    if (spec.clusterIP !== 'None') spec.clusterIP = `10.96.${parseInt(hex(name, 2), 16)}.${10 + (parseInt(hex(`ip/${name}`, 2), 16) % 240)}`;
    out.spec = spec;
    if (spec.type === 'LoadBalancer') {
      const annotations = (metadata.annotations as Record<string, string> | undefined) ?? {};
      const ingress = annotations['service.beta.kubernetes.io/aws-load-balancer-type']
        ? { hostname: `a${hex(`lb/${name}`, 31)}-${hex(`lb2/${name}`, 16)}.elb.${region}.amazonaws.com` }
        : { ip: `203.0.113.${10 + (parseInt(hex(`lbip/${name}`, 2), 16) % 200)}` };
      out.status = { loadBalancer: { ingress: [ingress] } };
    } else {
      out.status = { loadBalancer: {} };
    }
  }
  return out;
}

/** Data-source answers (invokes), shaped like the provider's. */
function invokeResult(token: string, inputs: Record<string, unknown>, region: string): Record<string, unknown> {
  switch (token) {
    case 'aws:index/getAvailabilityZones:getAvailabilityZones':
      return { id: region, names: ['a', 'b', 'c'].map((z) => `${region}${z}`), zoneIds: ['az1', 'az2', 'az3'].map((z) => `use1-${z}`) };
    case 'aws:ec2/getAmi:getAmi': {
      const filters = (inputs.filters as Array<{ name: string; values: string[] }> | undefined) ?? [];
      const architecture = filters.find((f) => f.name === 'architecture')?.values[0] ?? 'x86_64';
      return { id: `ami-0${hex(`ami/${architecture}`, 16)}`, architecture, name: filters.find((f) => f.name === 'name')?.values[0] ?? 'mock' };
    }
    case 'aws:ecr/getAuthorizationToken:getAuthorizationToken':
      return { id: region, userName: 'AWS', password: 'mock-ecr-password', authorizationToken: 'bW9jaw==', proxyEndpoint: `https://${MOCK_ACCOUNT_ID}.dkr.ecr.${region}.amazonaws.com`, expiresAt: '2030-01-01T00:00:00Z' };
    case 'aws:index/getRegion:getRegion':
      return { id: region, name: region, region };
    case 'aws:index/getCallerIdentity:getCallerIdentity':
      return { id: MOCK_ACCOUNT_ID, accountId: MOCK_ACCOUNT_ID, arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:user/mock`, userId: 'AIDAMOCK' };
    case 'aws:ssm/getParameter:getParameter': {
      // AWS's public parameters (under /aws/service/) answer with their value; any other name is
      // not this account's: GetParameter refuses it (ParameterNotFound), as the provider's read does.
      const name = String(inputs.name ?? '');
      if (!name.startsWith('/aws/service/')) throw new Error(`ParameterNotFound: ssm parameter ${name} does not exist`);
      const value = name.includes('/ami-id') || name.endsWith('/image_id') ? `ami-0${hex(`ssm/${name}`, 16)}` : `mock-${hex(name, 8)}`;
      return { id: name, name, arn: `arn:aws:ssm:${region}::parameter${name}`, type: 'String', value, insecureValue: value, version: 1, withDecryption: true };
    }
    case 'aws:index/getPartition:getPartition':
      return { id: 'aws', partition: 'aws', dnsSuffix: 'amazonaws.com' };
    default:
      throw new Error(`offline plan: no mock for data source ${token}`);
  }
}
