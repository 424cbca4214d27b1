/**
 * The mocks refuse what AWS refuses: one bad value per rule, registered through the mocks'
 * newResource as the engine would call it, refused with a message naming the resource, the input
 * and the rule. A good value beside it passes, so each rule is shown to be neither vacuous nor
 * over-eager.
 */
import { describe, expect, it } from 'vitest';
import { AWS_RULES, awsRefusals, TYPES } from '../../components/aws/aws-rules.js';
import { ruleDescription } from '../../components/aws/security-groups.js';
import { CADDY_PORTS, LIVEKIT_PORTS } from '../../components/livekit/ports.js';
import { AwsRefusalError, createMocks } from '../../scripts/lib/pulumi-mocks.js';

function register(type: string, name: string, inputs: Record<string, unknown>) {
  const { mocks } = createMocks();
  return () => mocks.newResource({ type, name, inputs, custom: true } as never);
}

/** [rule id, type, logical name, the refused input, a bad resource, a good one]. */
const CASES: Array<[string, string, string, string, Record<string, unknown>, Record<string, unknown>]> = [
  [
    'security-group-rule-description',
    TYPES.ingressRule,
    'voice-sg-livekit-turn-tls',
    'description',
    { ipProtocol: 'tcp', fromPort: 5349, toPort: 5349, description: 'clients: TURN/TLS on turns:<turn domain>:443' },
    { ipProtocol: 'tcp', fromPort: 5349, toPort: 5349, description: 'clients: TURN/TLS on turns:[turn domain]:443' },
  ],
  ['security-group-rule-description', TYPES.egressRule, 'voice-sg-egress', 'description', { ipProtocol: '-1', description: "the node's Redis" }, { ipProtocol: '-1', description: 'the Redis of the node' }],
  [
    'security-group-rule-description',
    TYPES.securityGroup,
    'voice-sg-inline',
    'ingress[0].description',
    { description: 'ok', ingress: [{ protocol: 'tcp', fromPort: 1, toPort: 1, description: 'x'.repeat(256) }] },
    { description: 'ok', ingress: [{ protocol: 'tcp', fromPort: 1, toPort: 1, description: 'x'.repeat(255) }] },
  ],
  ['security-group-description', TYPES.securityGroup, 'voice-sg-livekit', 'description', { description: 'LiveKit "nodes"' }, { description: 'LiveKit nodes' }],
  ['name-load-balancer', TYPES.loadBalancer, 'voice-lb-signalling-operators', 'name', { loadBalancerType: 'network' }, { loadBalancerType: 'network', name: 'voice-lb-signalling-operators' }],
  ['name-load-balancer', TYPES.loadBalancer, 'lb', 'name', { name: '-voice' }, { name: 'voice' }],
  ['name-target-group', TYPES.targetGroup, 'voice-lb-signalling-target-x', 'name', { port: 7880 }, { port: 7880, name: 'voice-lb-signalling-target-x' }],
  ['name-replication-group', TYPES.replicationGroup, 'voice-redis-queue-and-livekit-message-bus', 'replicationGroupId', {}, { replicationGroupId: 'voice-redis' }],
  ['name-replication-group', TYPES.replicationGroup, 'r', 'replicationGroupId', { replicationGroupId: 'Voice--redis' }, { replicationGroupId: 'voice-redis' }],
  ['name-role', TYPES.role, 'voice-livekit-role', 'namePrefix', { namePrefix: `voice-agent-infra-${'x'.repeat(21)}` }, { namePrefix: 'voice-large-livekit-' }],
  ['name-role', TYPES.role, 'r', 'name', { name: 'voice role' }, { name: 'voice-role' }],
  ['name-instance-profile', TYPES.instanceProfile, 'p', 'name', { name: 'p'.repeat(129) }, { name: 'p'.repeat(128) }],
  ['name-launch-template', TYPES.launchTemplate, 'lt', 'name', { name: 'lt' }, { name: 'lt-1' }],
  ['name-metric-alarm', TYPES.metricAlarm, 'a', 'name', { name: 'a'.repeat(256) }, { name: 'a'.repeat(255) }],
  ['name-topic', TYPES.topic, 't', 'name', { name: 'voice alerts' }, { name: 'voice-alerts' }],
  ['name-secret', TYPES.secret, 's', 'name', { name: 'voice/livekit-AbCdEf' }, { name: 'voice/livekit' }],
  ['name-security-group', TYPES.securityGroup, 'sg', 'name', { name: 'sg-livekit' }, { name: 'livekit' }],
  ['name-lifecycle-hook', TYPES.lifecycleHook, 'h', 'name', { name: 'drain before terminate', lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING' }, { name: 'drain-before-terminate', lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING' }],
  ['name-repository', TYPES.ecrRepository, 'repo', 'name', { name: 'Voice_Agent' }, { name: 'voice-agent' }],
  ['name-log-group', TYPES.logGroup, 'logs', 'name', { name: '/voice agent/mid' }, { name: '/voice-agent/mid' }],
  ['tags', TYPES.securityGroup, 'livekit-tags', 'tags.aws:stack', { tags: { 'aws:stack': 'mid' } }, { tags: { 'voice-agent-infra:stack': 'mid' } }],
  ['tags', TYPES.topic, 'too-many-tags', 'tags', { tags: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }, { tags: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v'])) }],
  ['tags', TYPES.group, 'g-tags', 'tags.Name', { minSize: 1, maxSize: 1, tags: [{ key: 'Name', value: 'v'.repeat(257), propagateAtLaunch: false }] }, { minSize: 1, maxSize: 1, tags: [{ key: 'Name', value: 'v'.repeat(256), propagateAtLaunch: false }] }],
  ['tags', TYPES.launchTemplate, 'lt-tags', 'tagSpecifications[0].tags.kkkk', { tagSpecifications: [{ resourceType: 'instance', tags: { ['k'.repeat(129)]: 'v' } }] }, { tagSpecifications: [{ resourceType: 'instance', tags: { ['k'.repeat(128)]: 'v' } }] }],
  [
    'instance-metadata-tag-keys',
    TYPES.launchTemplate,
    'lt-imds-tags',
    'tagSpecifications[0].tags.team/voice',
    { metadataOptions: { instanceMetadataTags: 'enabled' }, tagSpecifications: [{ resourceType: 'instance', tags: { 'team/voice': 'a' } }] },
    { metadataOptions: { instanceMetadataTags: 'enabled' }, tagSpecifications: [{ resourceType: 'instance', tags: { 'team:voice': 'a' } }] },
  ],
  ['instance-metadata-tag-keys', TYPES.instance, 'box-imds-tags', 'tags.Owner Team', { metadataOptions: { instanceMetadataTags: 'enabled' }, tags: { 'Owner Team': 'a' } }, { metadataOptions: { instanceMetadataTags: 'enabled' }, tags: { OwnerTeam: 'a' } }],
  ['user-data-size', TYPES.instance, 'box', 'userData', { userData: 'x'.repeat(16_385) }, { userData: 'x'.repeat(16_384) }],
  ['user-data-size', TYPES.launchTemplate, 'lt-ud', 'userData', { userData: Buffer.from('x'.repeat(16_385)).toString('base64') }, { userData: Buffer.from('x'.repeat(16_384)).toString('base64') }],
  ['autoscaling-group-size', TYPES.group, 'g', 'desiredCapacity', { minSize: 2, maxSize: 4, desiredCapacity: 5 }, { minSize: 2, maxSize: 4, desiredCapacity: 4 }],
  ['autoscaling-group-size', TYPES.group, 'g2', 'minSize', { minSize: 3, maxSize: 2 }, { minSize: 2, maxSize: 2 }],
  [
    'autoscaling-group-size',
    TYPES.group,
    'g3',
    'instanceMaintenancePolicy',
    { minSize: 1, maxSize: 2, instanceMaintenancePolicy: { minHealthyPercentage: 90, maxHealthyPercentage: 200 } },
    { minSize: 1, maxSize: 2, instanceMaintenancePolicy: { minHealthyPercentage: 100, maxHealthyPercentage: 200 } },
  ],
  ['lifecycle-hook', TYPES.lifecycleHook, 'hook', 'heartbeatTimeout', { name: 'drain', lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', heartbeatTimeout: 7201 }, { name: 'drain', lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', heartbeatTimeout: 7200 }],
  ['lifecycle-hook', TYPES.lifecycleHook, 'hook2', 'defaultResult', { name: 'drain', lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', defaultResult: 'ABORT' }, { name: 'drain', lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', defaultResult: 'CONTINUE' }],
  [
    'elasticache-auth-token',
    TYPES.replicationGroup,
    'redis',
    'authToken',
    { replicationGroupId: 'voice-redis', transitEncryptionEnabled: true, authToken: 'p@ssw0rd/with"bad%chars' },
    { replicationGroupId: 'voice-redis', transitEncryptionEnabled: true, authToken: 'Pa55w0rd-with!&#$^<>ok' },
  ],
  ['elasticache-auth-token', TYPES.replicationGroup, 'redis2', 'authToken', { replicationGroupId: 'voice-redis', transitEncryptionEnabled: false, authToken: 'a'.repeat(32) }, { replicationGroupId: 'voice-redis', transitEncryptionEnabled: true, authToken: 'a'.repeat(32) }],
  ['elasticache-auth-token', TYPES.replicationGroup, 'redis3', 'authToken', { replicationGroupId: 'voice-redis', transitEncryptionEnabled: true, authToken: 'a'.repeat(15) }, { replicationGroupId: 'voice-redis', transitEncryptionEnabled: true, authToken: 'a'.repeat(16) }],
  ['ssm-parameter', TYPES.ssmParameter, 'param', 'name', { name: 'voice-agent/mid/agent-image', type: 'String', value: 'x' }, { name: '/voice-agent/mid/agent-image', type: 'String', value: 'x' }],
  ['ssm-parameter', TYPES.ssmParameter, 'param2', 'value', { name: '/voice-agent/mid/big', type: 'String', value: 'x'.repeat(4097) }, { name: '/voice-agent/mid/big', type: 'String', value: 'x'.repeat(4096) }],
  [
    'target-group',
    TYPES.targetGroup,
    'voice-lb-sip',
    'healthCheck.protocol',
    { protocol: 'TCP_UDP', port: 5060, healthCheck: { protocol: 'UDP', port: '5060' } },
    { protocol: 'TCP_UDP', port: 5060, healthCheck: { protocol: 'HTTP', port: '8086', path: '/', matcher: '200' } },
  ],
  ['target-group', TYPES.targetGroup, 'voice-lb-sip2', 'healthCheck', { protocol: 'TCP', port: 5061, healthCheck: { protocol: 'TCP', path: '/' } }, { protocol: 'TCP', port: 5061, healthCheck: { protocol: 'TCP' } }],
  ['target-group', TYPES.targetGroup, 'voice-lb-sip3', 'preserveClientIp', { protocol: 'TCP_UDP', port: 5060, preserveClientIp: 'false' }, { protocol: 'TCP_UDP', port: 5060 }],
  ['target-group', TYPES.targetGroup, 'voice-lb-sip4', 'deregistrationDelay', { protocol: 'TCP', port: 5061, deregistrationDelay: 3601 }, { protocol: 'TCP', port: 5061, deregistrationDelay: 3600 }],
  ['target-group', TYPES.targetGroup, 'voice-lb-sip5', 'healthCheck.interval', { protocol: 'TCP', port: 5061, healthCheck: { protocol: 'HTTP', interval: 4 } }, { protocol: 'TCP', port: 5061, healthCheck: { protocol: 'HTTP', interval: 5 } }],
  ['listener', TYPES.listener, 'voice-lb-sip', 'certificateArn', { protocol: 'TCP_UDP', port: 5060, certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/x' }, { protocol: 'TCP_UDP', port: 5060 }],
  ['listener', TYPES.listener, 'voice-lb-signalling', 'certificateArn', { protocol: 'TLS', port: 443 }, { protocol: 'TLS', port: 443, certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/x' }],
  ['listener', TYPES.listener, 'voice-lb-sip-tls', 'sslPolicy', { protocol: 'TCP', port: 5061, sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06' }, { protocol: 'TCP', port: 5061 }],
  ['ebs-volume', TYPES.volume, 'data', 'size', { availabilityZone: 'us-east-1a', type: 'gp3', size: 0 }, { availabilityZone: 'us-east-1a', type: 'gp3', size: 10 }],
  ['ebs-volume', TYPES.volume, 'data2', 'availabilityZone', { type: 'gp3', size: 10 }, { availabilityZone: 'us-east-1a', type: 'gp3', size: 10 }],
];

describe('each AWS rule refuses a bad value, naming the resource, the input and the rule', () => {
  it.each(CASES)('%s: %s %s (%s)', (rule, type, name, input, bad, good) => {
    let error: unknown;
    try {
      register(type, name, bad)();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AwsRefusalError);
    const message = (error as Error).message;
    expect(message).toContain(`"${name}"`);
    expect(message).toContain(type);
    expect(message).toContain(`${input}`);
    expect(message).toContain(`[rule ${rule}; https://docs.aws.amazon.com/`);
    // The same resource with the value AWS accepts registers.
    expect(register(type, name, good)).not.toThrow();
  });

  it('every rule in the table has a case above, and cites an AWS documentation page', () => {
    const tested = new Set(CASES.map(([rule]) => rule));
    const untested = AWS_RULES.map((r) => r.id).filter((id) => !tested.has(id));
    expect(untested).toEqual([]);
    for (const rule of AWS_RULES) expect(rule.source, rule.id).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
  });

  it("counts Pulumi's 8-character auto-name suffix against the 32-character NLB limit", () => {
    // 24 characters pass (24 + 8 = 32); 25 do not.
    expect(awsRefusals({ type: TYPES.loadBalancer, name: 'x'.repeat(24), inputs: {} })).toEqual([]);
    const [refusal] = awsRefusals({ type: TYPES.loadBalancer, name: 'x'.repeat(25), inputs: {} });
    expect(refusal?.message).toMatch(/is 33 characters \(with Pulumi's 8-character suffix\); allowed 1-32/);
  });

  it('never echoes an AUTH token it refuses', () => {
    const token = 'SecretCanary/With@Bad"Chars';
    const messages = awsRefusals({ type: TYPES.replicationGroup, name: 'redis', inputs: { replicationGroupId: 'r', transitEncryptionEnabled: true, authToken: token } });
    expect(messages).toHaveLength(1);
    expect(JSON.stringify(messages)).not.toContain('SecretCanary');
  });

  it('leaves types outside AWS alone', () => {
    expect(awsRefusals({ type: 'random:index/randomPassword:RandomPassword', name: 'x', inputs: { tags: { 'aws:x': 'y' } } })).toEqual([]);
  });
});

describe('security group rule descriptions of the port table', () => {
  it('every port description is one EC2 accepts', () => {
    for (const port of [...LIVEKIT_PORTS, ...CADDY_PORTS]) expect(() => ruleDescription(port.reachedBy), port.name).not.toThrow();
  });
  it('a description EC2 refuses fails when the rules are built, naming it', () => {
    expect(() => ruleDescription("the node's Redis")).toThrow(/"the node's Redis" is not one EC2 accepts/);
  });
});
