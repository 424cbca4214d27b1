/**
 * Which input changes the providers cannot apply in place, for every resource type this package
 * creates: the replace-on-change table of the offline plan diff. Pure data and predicates.
 *
 * Read from the providers' own sources (the Pulumi packages in node_modules carry no schema
 * metadata: @pulumi/aws and @pulumi/random are bridged Terraform providers, so `ForceNew: true` in
 * the Terraform schema, a `RequiresReplace` plan modifier or a `CustomizeDiff` `ForceNew` is what
 * makes the engine replace). Attribute names are translated to the Pulumi SDK's (camelCase, lists
 * of blocks plural, one-block lists as objects: checked against the @pulumi/aws 7.48 `*Args`
 * interfaces). Each entry names the file and the commit it was read at. The stored sources are
 * not all at the revision @pulumi/aws 7.48 bridges (terraform-provider-aws v6.4x): where a file was
 * older, the attributes listed are those it shows and @pulumi/aws 7.48 still has (a test holds every
 * name against the SDK's `*Args` types); inputs added since are treated as in place.
 * Entries marked `read: false` were not re-read from source for this table (the provider's
 * documented behaviour); `npm run diff` says so next to any replacement they decide.
 */

/** What a rule sees of one changed input. */
export interface RuleContext {
  before: unknown;
  after: unknown;
  /** The resource's whole inputs on each side (some rules depend on another input). */
  inputsBefore: Readonly<Record<string, unknown>>;
  inputsAfter: Readonly<Record<string, unknown>>;
}

/** One input (with everything under it) whose change replaces the resource. */
export interface ReplaceRule {
  /** Pulumi input path, dotted, no list indices: "rootBlockDevice.encrypted". */
  path: string;
  /** Replacement only when this holds (the provider's CustomizeDiff); always when absent. */
  when?: (change: RuleContext) => boolean;
  /** The condition in words, shown with the replacement. */
  condition?: string;
}

/** An in-place update that still disturbs what runs (stops an instance, rolls a group). */
export interface DisruptiveUpdate {
  paths: readonly string[];
  effect: string;
  when?: (change: RuleContext) => boolean;
}

export interface ResourceTypeRules {
  /** Where the rules were read: repository, file, commit. */
  source: string;
  /** false: not re-read from source for this table (documented behaviour). */
  read: boolean;
  /** Inputs that replace; 'all' for resources the provider cannot update at all (no Update function). */
  replaceOn: readonly ReplaceRule[] | 'all';
  disruptiveUpdates?: readonly DisruptiveUpdate[];
  /** What replacing it does to a running system, beyond a moment's work. */
  replacementImpact?: string;
  /** What deleting it (the stack no longer has it) does to a running system. */
  removalImpact?: string;
}

const TF_AWS = 'hashicorp/terraform-provider-aws';
const TF_RANDOM = 'hashicorp/terraform-provider-random@ad788e233bb42be5ecad3ba8f43de0d9d9dc7185';

const always = (...paths: string[]): ReplaceRule[] => paths.map((path) => ({ path }));
const countOf = (value: unknown) => (Array.isArray(value) ? value.length : 0);

/** Instance user data replaces only with userDataReplaceOnChange (ec2_instance.go CustomizeDiff ForceNewIf). */
const userDataReplaces = (c: RuleContext) => c.inputsAfter.userDataReplaceOnChange === true;

/** Semantic version order of two engine versions ("7.1" < "7.2"); NaN parts compare as 0. */
function versionLess(a: unknown, b: unknown): boolean {
  const parts = (v: unknown) => String(v ?? '').split('.').map((p) => Number.parseInt(p, 10) || 0);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) < (y[i] ?? 0);
  }
  return false;
}

const ec2 = (file: string, commit: string) => `${TF_AWS} internal/service/ec2/${file}@${commit}`;

/** The table, by Pulumi type token. Component types (voice-agent-infra:*) have no provider and no entry. */
export const REPLACE_ON_CHANGE: Readonly<Record<string, ResourceTypeRules>> = {
  'aws:ec2/instance:Instance': {
    source: ec2('ec2_instance.go', '0015dfcd06d5d78e5e1c3cabe8cea837d379d1c7'),
    read: true,
    replaceOn: [
      ...always(
        'ami', 'associatePublicIpAddress', 'availabilityZone',
        'cpuOptions.amdSevSnp', 'cpuOptions.coreCount', 'cpuOptions.threadsPerCore',
        'ebsBlockDevices.deleteOnTermination', 'ebsBlockDevices.deviceName', 'ebsBlockDevices.encrypted', 'ebsBlockDevices.iops',
        'ebsBlockDevices.kmsKeyId', 'ebsBlockDevices.snapshotId', 'ebsBlockDevices.throughput', 'ebsBlockDevices.volumeSize',
        'ebsBlockDevices.volumeType', 'ebsOptimized', 'enclaveOptions.enabled', 'ephemeralBlockDevices', 'hibernation', 'hostId',
        'ipv6AddressCount', 'ipv6Addresses', 'keyName', 'launchTemplate.id', 'launchTemplate.name',
        'networkInterfaces.deleteOnTermination', 'networkInterfaces.deviceIndex', 'networkInterfaces.networkCardIndex',
        'networkInterfaces.networkInterfaceId', 'placementGroup', 'placementPartitionNumber', 'privateDnsNameOptions', 'privateIp',
        'rootBlockDevice.encrypted', 'rootBlockDevice.kmsKeyId', 'securityGroups', 'subnetId', 'tenancy',
      ),
      { path: 'userData', when: userDataReplaces, condition: 'userDataReplaceOnChange is true' },
      { path: 'userDataBase64', when: userDataReplaces, condition: 'userDataReplaceOnChange is true' },
    ],
    disruptiveUpdates: [
      // resourceInstanceUpdate: instance_type, user_data, user_data_base64 -> modifyInstanceAttributeWithStopStart.
      { paths: ['instanceType'], effect: 'stops and starts the instance' },
      { paths: ['userData', 'userDataBase64'], effect: 'stops and starts the instance', when: (c) => !userDataReplaces(c) },
    ],
    replacementImpact: 'a single node: replacing it drops the calls it carries',
    removalImpact: 'a single node: deleting it drops the calls it carries',
  },
  'aws:ec2/launchTemplate:LaunchTemplate': {
    // Nested blocks carry no ForceNew: a change is a new template version (which the group rolls out).
    source: ec2('ec2_launch_template.go', '025e4f81cab8553cb052aebfcc5987e2aa8c702a'),
    read: true,
    replaceOn: always('name', 'namePrefix'),
  },
  'aws:autoscaling/group:Group': {
    source: `${TF_AWS} internal/service/autoscaling/group.go@eeecacfa18e259c26acee2806655620336bfb519`,
    read: true,
    replaceOn: always('name', 'namePrefix', 'initialLifecycleHooks'),
    disruptiveUpdates: [
      // resourceGroupUpdate: a launch template / mixed instances change with instance_refresh set starts a refresh.
      {
        paths: ['launchTemplate', 'mixedInstancesPolicy', 'launchConfiguration'],
        effect: "starts an instance refresh: every instance of the group is replaced, a few at a time",
        when: (c) => c.inputsAfter.instanceRefresh !== undefined && c.inputsAfter.instanceRefresh !== null,
      },
    ],
  },
  'aws:autoscaling/policy:Policy': {
    source: `${TF_AWS} internal/service/autoscaling/policy.go`,
    read: false,
    replaceOn: always('name', 'autoscalingGroupName'),
  },
  'aws:autoscaling/lifecycleHook:LifecycleHook': {
    source: `${TF_AWS} internal/service/autoscaling/lifecycle_hook.go`,
    read: false,
    replaceOn: always('name', 'autoscalingGroupName'),
  },
  'aws:ec2/vpc:Vpc': {
    source: ec2('vpc_.go', '00081ce41cc691433ac19bf42227cdabffd0454d'),
    read: true,
    replaceOn: always('cidrBlock', 'ipv4IpamPoolId', 'ipv4NetmaskLength'),
    replacementImpact: 'a new network: everything in it is replaced too',
  },
  'aws:ec2/subnet:Subnet': {
    source: ec2('vpc_subnet.go', '00cda125a19d31754cb0d073cf551264c57955cb'),
    read: true,
    replaceOn: [
      ...always(
        'availabilityZone', 'availabilityZoneId', 'cidrBlock', 'ipv4IpamPoolId', 'ipv4NetmaskLength', 'ipv6IpamPoolId', 'ipv6Native',
        'ipv6NetmaskLength', 'outpostArn', 'vpcId',
      ),
      {
        path: 'ipv6CidrBlock',
        when: (c) => c.before !== undefined && c.inputsBefore.assignIpv6AddressOnCreation === true,
        condition: 'the subnet assigned IPv6 addresses on creation',
      },
    ],
  },
  'aws:ec2/internetGateway:InternetGateway': {
    source: ec2('vpc_internet_gateway.go', '08923b68b5ad6fcfdd38362fb5247e39a9b07add'),
    read: true,
    replaceOn: [],
  },
  'aws:ec2/routeTable:RouteTable': {
    source: ec2('vpc_route_table.go', '022092419b7cda11527df3c6b51cbfe1876c1722'),
    read: true,
    replaceOn: always('vpcId'),
  },
  'aws:ec2/routeTableAssociation:RouteTableAssociation': {
    source: ec2('vpc_route_table_association.go', '0be71beb458ad8875e0acc5c91519c0ceeb214aa'),
    read: true,
    replaceOn: always('gatewayId', 'subnetId'),
  },
  'aws:ec2/securityGroup:SecurityGroup': {
    source: ec2('vpc_security_group.go', '01606926a0c0ab9174aec440f976a48b0baee722'),
    read: true,
    replaceOn: always('description', 'name', 'namePrefix', 'vpcId'),
  },
  'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule': securityGroupRule(),
  'aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule': securityGroupRule(),
  'aws:ebs/volume:Volume': {
    // size, type, iops and throughput change in place (ModifyVolume); the rest is ForceNew.
    source: ec2('ebs_volume.go', '0073593e7d6993ba482409f4dc35438daaa79bb3'),
    read: true,
    replaceOn: always('availabilityZone', 'encrypted', 'kmsKeyId', 'multiAttachEnabled', 'outpostArn', 'snapshotId'),
    replacementImpact: "the single node's data volume: a new, empty one loses Redis's AOF (the queue) and Caddy's certificates",
    removalImpact: "the single node's data (Redis's AOF, Caddy's certificates) is deleted",
  },
  'aws:ec2/volumeAttachment:VolumeAttachment': {
    // UpdateWithoutTimeout is a no-op: device, instance and volume are ForceNew.
    source: ec2('ebs_volume_attachment.go', '1265e5841c0f7339e085729ebbaf8af06a0d2fdf'),
    read: true,
    replaceOn: always('deviceName', 'instanceId', 'volumeId'),
  },
  'aws:ec2/eip:Eip': {
    source: ec2('ec2_eip.go', '01606926a0c0ab9174aec440f976a48b0baee722'),
    read: true,
    replaceOn: always('address', 'domain', 'ipamPoolId', 'networkBorderGroup', 'publicIpv4Pool'),
    replacementImpact: "a new public address: DNS records and the SIP provider's allow-list must follow",
    removalImpact: 'its public address is released for good',
  },
  'aws:ec2/eipAssociation:EipAssociation': {
    // No Update function: every argument is ForceNew.
    source: ec2('ec2_eip_association.go', '01c08000ddb14181b5bd19201d8fca311dc570e4'),
    read: true,
    replaceOn: 'all',
  },
  'aws:iam/role:Role': { source: `${TF_AWS} internal/service/iam/role.go`, read: false, replaceOn: always('name', 'namePrefix', 'path') },
  'aws:iam/instanceProfile:InstanceProfile': {
    source: `${TF_AWS} internal/service/iam/instance_profile.go`,
    read: false,
    replaceOn: always('name', 'namePrefix', 'path'),
  },
  'aws:iam/rolePolicy:RolePolicy': { source: `${TF_AWS} internal/service/iam/role_policy.go`, read: false, replaceOn: always('name', 'namePrefix', 'role') },
  'aws:iam/rolePolicyAttachment:RolePolicyAttachment': {
    source: `${TF_AWS} internal/service/iam/role_policy_attachment.go`,
    read: false,
    replaceOn: 'all',
  },
  'aws:secretsmanager/secret:Secret': {
    source: `${TF_AWS} internal/service/secretsmanager/secret.go`,
    read: false,
    replaceOn: always('name', 'namePrefix'),
  },
  'aws:secretsmanager/secretVersion:SecretVersion': {
    // Read through the stored index's text search (the schema block), not at a known commit.
    source: `${TF_AWS} internal/service/secretsmanager/secret_version.go`,
    read: true,
    replaceOn: always('secretId', 'secretString', 'secretBinary'),
  },
  'aws:ssm/parameter:Parameter': { source: `${TF_AWS} internal/service/ssm/parameter.go`, read: false, replaceOn: always('name', 'dataType') },
  'aws:cloudwatch/logGroup:LogGroup': {
    source: `${TF_AWS} internal/service/logs/group.go`,
    read: false,
    replaceOn: always('name', 'namePrefix', 'logGroupClass'),
  },
  'aws:cloudwatch/metricAlarm:MetricAlarm': {
    // Read through the stored index's text search (alarm_name ForceNew), not at a known commit.
    source: `${TF_AWS} internal/service/cloudwatch/metric_alarm.go`,
    read: true,
    replaceOn: always('name'),
  },
  'aws:cloudwatch/dashboard:Dashboard': {
    source: `${TF_AWS} internal/service/cloudwatch/dashboard.go`,
    read: false,
    replaceOn: always('dashboardName'),
  },
  'aws:ecr/repository:Repository': {
    source: `${TF_AWS} internal/service/ecr/repository.go`,
    read: false,
    replaceOn: always('name', 'encryptionConfigurations'),
    replacementImpact: 'a new, empty image repository: the images in the old one are deleted with it',
  },
  'aws:ecr/lifecyclePolicy:LifecyclePolicy': { source: `${TF_AWS} internal/service/ecr/lifecycle_policy.go`, read: false, replaceOn: 'all' },
  'aws:lb/loadBalancer:LoadBalancer': {
    source: `${TF_AWS} internal/service/elbv2/load_balancer.go@00edc94be7a89c4c485415cdec27094875f61bfc`,
    read: true,
    replaceOn: [
      ...always('customerOwnedIpv4Pool', 'internal', 'loadBalancerType', 'name', 'namePrefix'),
      // customizeDiffLoadBalancerNLB: a network load balancer's subnets may only grow in place.
      {
        path: 'subnets',
        when: (c) => c.inputsAfter.loadBalancerType === 'network' && countOf(c.inputsAfter.subnets) <= countOf(c.inputsBefore.subnets),
        condition: 'a network load balancer whose subnets do not only grow',
      },
      { path: 'subnetMappings', when: (c) => c.inputsAfter.loadBalancerType === 'network', condition: 'network load balancer' },
      {
        path: 'securityGroups',
        when: (c) =>
          c.inputsAfter.loadBalancerType === 'network' && (countOf(c.inputsBefore.securityGroups) === 0) !== (countOf(c.inputsAfter.securityGroups) === 0),
        condition: 'a network load balancer gaining its first or losing its last security group',
      },
    ],
    replacementImpact: 'a new load balancer and DNS name: connections through the old one end',
  },
  'aws:lb/targetGroup:TargetGroup': {
    source: `${TF_AWS} internal/service/elbv2/target_group.go@013cfb4cddc9c44a28f34abad0c11768bcdb9b85`,
    read: true,
    replaceOn: always('ipAddressType', 'name', 'namePrefix', 'port', 'protocol', 'protocolVersion', 'targetType', 'vpcId'),
  },
  'aws:lb/listener:Listener': { source: `${TF_AWS} internal/service/elbv2/listener.go`, read: false, replaceOn: always('loadBalancerArn') },
  'aws:lb/targetGroupAttachment:TargetGroupAttachment': {
    source: `${TF_AWS} internal/service/elbv2/target_group_attachment.go`,
    read: false,
    replaceOn: 'all',
  },
  'aws:acm/certificate:Certificate': {
    source: `${TF_AWS} internal/service/acm/certificate.go@01661ea3cbe6b07ed725b03c587d24ceb464484a`,
    read: true,
    replaceOn: always('certificateAuthorityArn', 'domainName', 'keyAlgorithm', 'subjectAlternativeNames', 'validationMethod', 'validationOptions'),
  },
  'aws:acm/certificateValidation:CertificateValidation': {
    source: `${TF_AWS} internal/service/acm/certificate_validation.go`,
    read: false,
    replaceOn: 'all',
  },
  'aws:route53/record:Record': {
    source: `${TF_AWS} internal/service/route53/record.go@00655c1681ea1e49ab10cd32d3f8bee372b2095b`,
    read: true,
    replaceOn: always('name', 'zoneId'),
  },
  'aws:elasticache/replicationGroup:ReplicationGroup': {
    source: `${TF_AWS} internal/service/elasticache/replication_group.go@001b6364c1a3b3045e152f655440a6d47eb44a70`,
    read: true,
    replaceOn: [
      ...always(
        'atRestEncryptionEnabled', 'dataTieringEnabled', 'globalReplicationGroupId', 'kmsKeyId', 'networkType', 'port', 'replicationGroupId',
        'securityGroupNames', 'snapshotArns', 'snapshotName', 'subnetGroupName', 'nodeGroupConfigurations',
      ),
      // customizeDiffEngineVersionForceNewOnDowngrade / customizeDiffEngineForceNewOnDowngrade.
      { path: 'engineVersion', when: (c) => c.before !== undefined && versionLess(c.after, c.before), condition: 'engine version downgrade' },
      { path: 'engine', when: (c) => c.before === 'valkey' && c.after === 'redis', condition: 'engine downgrade from valkey to redis' },
    ],
    replacementImpact: 'a new, empty Redis: waiting calls, dead letters and fleet capacity in the queue are lost',
    removalImpact: 'the queue in it (waiting calls, dead letters) is deleted with it',
  },
  'aws:elasticache/subnetGroup:SubnetGroup': {
    source: `${TF_AWS} internal/service/elasticache/subnet_group.go`,
    read: false,
    replaceOn: always('name'),
  },
  'aws:elasticache/parameterGroup:ParameterGroup': {
    source: `${TF_AWS} internal/service/elasticache/parameter_group.go`,
    read: false,
    replaceOn: always('name', 'family', 'description'),
  },
  'aws:sns/topic:Topic': { source: `${TF_AWS} internal/service/sns/topic.go`, read: false, replaceOn: always('name', 'namePrefix', 'fifoTopic') },
  'aws:sns/topicSubscription:TopicSubscription': {
    source: `${TF_AWS} internal/service/sns/topic_subscription.go`,
    read: false,
    replaceOn: always('topic', 'protocol', 'endpoint', 'endpointAutoConfirms', 'confirmationTimeoutInMinutes'),
  },
  'random:index/randomString:RandomString': randomRules('internal/provider/resource_string.go'),
  'random:index/randomPassword:RandomPassword': {
    ...randomRules('internal/provider/resource_password.go'),
    replacementImpact: 'a new secret value: running nodes keep the old one until they boot again',
  },
  'docker-build:index:Image': {
    // Image.Diff reports every difference as an update (an image is rebuilt, never replaced).
    source: 'pulumi/pulumi-docker-build provider/internal/image.go@7bad76a9d36bbf5ad949c976869851d95f858d6d',
    read: true,
    replaceOn: [],
  },
};

/**
 * Launch template inputs that are not launch template data: changing only these makes no new
 * version (resourceLaunchTemplateUpdate creates a version for the template data keys only).
 */
export const LAUNCH_TEMPLATE_NON_DATA_INPUTS: readonly string[] = ['tags', 'tagsAll', 'description', 'defaultVersion', 'updateDefaultVersion', 'name', 'namePrefix'];

/** terraform-provider-aws v6 enhanced region support: a resource moved to another Region is a new one. */
export const AWS_REGION_RULE: ReplaceRule = { path: 'region' };
export const AWS_REGION_RULE_SOURCE = 'terraform-provider-aws docs, enhanced region support (v6)';

function securityGroupRule(): ResourceTypeRules {
  // ModifyPlan: "When you modify a rule, you cannot change the rule's source type."
  const source = (inputs: Readonly<Record<string, unknown>>) =>
    ['cidrIpv4', 'cidrIpv6', 'prefixListId', 'referencedSecurityGroupId'].find((k) => inputs[k] !== undefined && inputs[k] !== null) ?? null;
  const kindChanged = (c: RuleContext) => source(c.inputsBefore) !== source(c.inputsAfter);
  const condition = 'the rule changes its source kind';
  return {
    source: ec2('vpc_security_group_ingress_rule.go', '00a322094b4b9ade8a81b244345dbcf4b52ee8d6'),
    read: true,
    replaceOn: [
      ...always('securityGroupId'),
      ...['cidrIpv4', 'cidrIpv6', 'prefixListId', 'referencedSecurityGroupId'].map((path) => ({ path, when: kindChanged, condition })),
    ],
  };
}

function randomRules(file: string): ResourceTypeRules {
  return {
    source: `${TF_RANDOM} ${file}`,
    read: true,
    replaceOn: [
      // keepers: RequiresReplaceIfValuesNotNull; override_special: RequiresReplaceUnlessEmptyStringToNull.
      ...always('keepers', 'length', 'special', 'upper', 'lower', 'number', 'numeric', 'minNumeric', 'minUpper', 'minLower', 'minSpecial'),
      { path: 'overrideSpecial', when: (c) => !(c.before === '' && (c.after === undefined || c.after === null)), condition: 'not from "" to unset' },
    ],
  };
}

/** AWS modules of global services: their resources have no `region` input. */
const GLOBAL_AWS_MODULES = new Set(['iam', 'route53']);

/** Whether the region rule applies: a regional AWS type. */
export function isRegionalAwsType(type: string): boolean {
  return type.startsWith('aws:') && !GLOBAL_AWS_MODULES.has(type.split(':')[1]?.split('/')[0] ?? '');
}

/** The rules of a type, the region rule added for regional AWS types; undefined for a type the table does not know. */
export function rulesFor(type: string): ResourceTypeRules | undefined {
  const rules = REPLACE_ON_CHANGE[type];
  if (!rules || !isRegionalAwsType(type) || rules.replaceOn === 'all') return rules;
  return { ...rules, replaceOn: [...rules.replaceOn, AWS_REGION_RULE] };
}
