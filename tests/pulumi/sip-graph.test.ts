/**
 * Phone calls in the mocked resource graph of the real program (index.ts under the engine-like
 * mocks, one child process per stack; issue 9 phase 2): per tier the SIP service runs where the
 * plan says, the security groups admit SIP signalling only from the provider's ranges and RTP from
 * its media ranges, the stack's SIP objects go to the nodes through an SSM parameter and a secret,
 * large reaches the nodes through SIP listeners on the signalling NLB, and `sip.enabled: false`
 * removes all of it. Plus, in process: SIP credentials never leave their secret.
 */
import * as pulumi from '@pulumi/pulumi';
import type { ResourceValidationPolicy } from '@pulumi/policy';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type ComposeFile, NODE_FILES, PINNED_IMAGES } from '../../components/livekit/index.js';
import { policies, resourceViolations, userDataText } from '../../components/policy/policies.js';
import { buildStackReport } from '../../components/report.js';
import type { StackConfig } from '../../components/config.js';
import { sipSettings } from '../../components/sip/config.js';
import { sipDeclaration, sipObjectNames } from '../../components/sip/declaration.js';
import { SIP_WATCH_UNIT, sipDeclarationParameterName } from '../../components/sip/node.js';
import { PROVIDER_RANGES } from '../../components/sip/providers.js';
import { SIP_CONFIG_PLACEHOLDERS, SIP_FILES } from '../../components/sip/sip-yaml.js';
import { type OfflinePlan, offlinePlans, offlinePlanWithOverrides, type PlannedResource } from '../../scripts/lib/offline-plan.js';
import { waitForRegistrations } from '../../scripts/lib/pulumi-mocks.js';
import { stackImages } from '../../scripts/lib/stack-images.js';
import { REPO_ROOT } from '../../scripts/lib/stacks.js';
import { EXAMPLE_STACKS, exampleConfig, registeredResources, valueOf } from './helpers.js';

const T = {
  ingress: 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
  sg: 'aws:ec2/securityGroup:SecurityGroup',
  parameter: 'aws:ssm/parameter:Parameter',
  secret: 'aws:secretsmanager/secret:Secret',
  targetGroup: 'aws:lb/targetGroup:TargetGroup',
  listener: 'aws:lb/listener:Listener',
  nlb: 'aws:lb/loadBalancer:LoadBalancer',
  group: 'aws:autoscaling/group:Group',
  instance: 'aws:ec2/instance:Instance',
  launchTemplate: 'aws:ec2/launchTemplate:LaunchTemplate',
  rolePolicy: 'aws:iam/rolePolicy:RolePolicy',
  record: 'aws:route53/record:Record',
} as const;

const SECURE = { secure: 'v1:AAAAencryptedAAAA' };
const CERTIFICATE_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:voice-agent/sip-certificate-AbCdEf';

const plans = new Map<string, OfflinePlan>();
beforeAll(async () => {
  for (const plan of await offlinePlans(EXAMPLE_STACKS)) plans.set(plan.stack, plan);
  const variants: Array<[string, string, Record<string, unknown>]> = [
    ['small-off', 'small', { 'sip.enabled': false }],
    ['mid-off', 'mid', { 'sip.enabled': false }],
    ['large-off', 'large', { 'sip.enabled': false }],
    [
      'large-telnyx-tls',
      'large',
      {
        sip: {
          provider: 'telnyx',
          numbers: ['+15550100001', '+15550100002'],
          tls: { enabled: true, certificateSecretArn: CERTIFICATE_ARN },
          outbound: { address: 'sip.telnyx.com', numbers: ['+15550100001'], transport: 'tls' },
        },
        sipAuthUsername: SECURE,
        sipAuthPassword: SECURE,
        sipOutboundUsername: SECURE,
        sipOutboundPassword: SECURE,
      },
    ],
    ['mid-tls', 'mid', { sip: { numbers: ['+15550100003'], tls: { enabled: true, certificateSecretArn: CERTIFICATE_ARN } } }],
  ];
  // Two at a time: the machine has two cores.
  for (let i = 0; i < variants.length; i += 2) {
    const batch = variants.slice(i, i + 2);
    const results = await Promise.all(batch.map(([, stack, overrides]) => offlinePlanWithOverrides(stack, overrides)));
    batch.forEach(([key], j) => plans.set(key, results[j]!));
  }
}, 240_000);

const of = (key: string, type: string) => plans.get(key)!.resources.filter((r) => r.type === type);
const byName = (key: string, name: string, type: string) => plans.get(key)!.resources.find((r) => r.name === name && r.type === type);
const byId = (key: string, id: unknown) => plans.get(key)!.resources.find((r) => r.id === id);

/** The user data files of the machines of a plan, by machine name. */
function machineFiles(key: string): Map<string, Map<string, string>> {
  const machines = [...of(key, T.instance), ...of(key, T.launchTemplate)];
  return new Map(
    machines.map((m) => {
      const doc = parse(userDataText(m.type, m.inputs)!) as { write_files: Array<{ path: string; content: string }> };
      return [m.name, new Map(doc.write_files.map((f) => [f.path, f.content]))];
    }),
  );
}
const composeOf = (files: Map<string, string>) => parse(files.get(NODE_FILES.compose)!) as ComposeFile;

/** Ingress rules touching a port range, with the group they belong to. */
function rulesCovering(key: string, protocol: 'udp' | 'tcp', port: number) {
  return of(key, T.ingress)
    .filter((r) => r.inputs.ipProtocol === protocol && (r.inputs.fromPort as number) <= port && port <= (r.inputs.toPort as number))
    .map((r) => ({ ...r, group: byId(key, r.inputs.securityGroupId)!.name }));
}

const livekitPolicy = (key: string) => {
  const policy = of(key, T.rolePolicy).find((p) => p.name === 'voice-livekit-role-policy')!;
  return (JSON.parse(policy.inputs.policy as string) as { Statement: Array<{ Sid: string; Resource: string | string[] }> }).Statement;
};

describe.each(EXAMPLE_STACKS)('stack %s: the SIP service where the plan says', (stack) => {
  const plan = () => buildStackReport(stack, exampleConfig(stack)).plan;

  it('runs the SIP service in the compose file of the LiveKit role and nowhere else; sip-watch beside it', () => {
    for (const [machine, files] of machineFiles(stack)) {
      const livekitRole = machine === 'voice-livekit';
      expect(Object.hasOwn(composeOf(files).services, 'sip'), machine).toBe(livekitRole);
      expect(files.has(SIP_FILES.template), machine).toBe(livekitRole);
      expect(files.has(`/etc/systemd/system/${SIP_WATCH_UNIT}.timer`), machine).toBe(livekitRole);
    }
    expect(plan().sip).toMatchObject({ enabled: true, placement: 'livekit-nodes' });
  });

  it('renders the SIP config with the node’s public address, its Redis and the ports; the single node’s livekit.yaml has Redis', () => {
    const files = machineFiles(stack).get('voice-livekit')!;
    const sip = parse(files.get(SIP_FILES.template)!) as Record<string, unknown> & { redis: { address: string } };
    const livekit = parse(files.get(NODE_FILES.livekitConfig)!) as { redis?: { address: string }; rtc: { node_ip?: string } };
    expect(sip).toMatchObject({ sip_port: 5060, rtp_port: '10000-20000', health_port: 8086, ws_url: 'ws://127.0.0.1:7880' });
    if (plan().tier === 'large') {
      expect(sip.nat_1_to_1_ip).toBe(SIP_CONFIG_PLACEHOLDERS.publicIp);
      expect(sip.redis.address).toBe(livekit.redis!.address);
    } else {
      // The Elastic IP: the same address LiveKit advertises (rtc.node_ip).
      expect(sip.nat_1_to_1_ip).toBe(livekit.rtc.node_ip);
      expect(sip.redis.address).toBe('127.0.0.1:6379');
      expect(livekit.redis).toEqual({ address: '127.0.0.1:6379' });
    }
  });

  it("admits SIP signalling only from Twilio's signalling ranges and RTP only from its media range; nothing on 5060/5061 from the internet", () => {
    const signalling = PROVIDER_RANGES.twilio.signalling.map((r) => r.cidr).sort();
    for (const [protocol, port] of [['udp', 5060], ['tcp', 5060]] as const) {
      const rules = rulesCovering(stack, protocol, port);
      const livekit = rules.filter((r) => r.group === 'voice-sg-livekit');
      expect(livekit.map((r) => r.inputs.cidrIpv4).sort(), `${protocol} ${port}`).toEqual(signalling);
      for (const rule of rules) {
        expect(rule.inputs.cidrIpv4, rule.name).not.toBe('0.0.0.0/0');
        expect(rule.inputs.cidrIpv6, rule.name).toBeUndefined();
      }
    }
    // TLS is off in the examples: nothing on 5061.
    expect(rulesCovering(stack, 'tcp', 5061)).toEqual([]);
    const rtp = rulesCovering(stack, 'udp', 10_000);
    expect(rtp.map((r) => [r.group, r.inputs.cidrIpv4])).toEqual([['voice-sg-livekit', PROVIDER_RANGES.twilio.media![0]!.cidr]]);
  });

  it('keeps the declaration in an SSM parameter the LiveKit nodes may read, and the credentials in a secret they may read', () => {
    const parameter = of(stack, T.parameter).find((p) => p.inputs.name === sipDeclarationParameterName(stack))!;
    expect(parameter.inputs).toMatchObject({ type: 'String', tier: 'Standard' });
    expect(JSON.parse(parameter.inputs.insecureValue as string)).toEqual(sipDeclaration({ stack, sip: sipSettings(exampleConfig(stack)) }));
    const statements = livekitPolicy(stack);
    expect(statements.find((s) => s.Sid === 'ReadStackParameters')!.Resource).toContain(`arn:aws:ssm:us-east-1:123456789012:parameter${sipDeclarationParameterName(stack)}`);
    const credentialsArn = (plans.get(stack)!.outputs.secretArns as Record<string, string>).sipCredentials!;
    expect(credentialsArn).toMatch(/:secret:voice-agent\/[a-z]+\/sip-credentials-/);
    expect(statements.find((s) => s.Sid === 'ReadStackSecrets')!.Resource).toContain(credentialsArn);
    // The node's user data names both, never a value.
    const watch = machineFiles(stack).get('voice-livekit')!.get('/opt/voice-agent/sip-watch.sh')!;
    expect(watch).toContain(sipDeclarationParameterName(stack));
    expect(watch).toContain(credentialsArn);
  });

  it('outputs the SIP URI and the numbers; a sip.<domain> record points where the provider sends calls', () => {
    const outputs = plans.get(stack)!.outputs;
    const records = outputs.dnsRecords as string[];
    const sipRecord = records.find((r) => r.startsWith(`sip.voice.${stack}.example.com `))!;
    expect(sipRecord).toBeDefined();
    if (plan().tier === 'large') {
      expect(outputs.sipUri).toBe(`sip:sip.voice.${stack}.example.com:5060`);
      expect(sipRecord).toMatch(/ ALIAS voice-lb-signalling-/);
    } else {
      const eip = / A (\d+\.\d+\.\d+\.\d+)$/.exec(sipRecord)![1];
      expect(outputs.sipUri).toBe(`sip:${eip}:5060`);
    }
    expect(outputs.sipNumbers).toEqual(plan().sip.numbers);
  });

  it('lists the SIP image for the pre-deploy image check', () => {
    const config = exampleConfig(stack);
    expect(stackImages(config, buildStackReport(stack, config).plan)).toContainEqual({ role: 'LiveKit SIP', image: PINNED_IMAGES.sip });
  });
});

describe('large: SIP listeners on the signalling NLB, the nodes behind them', () => {
  it('passes TCP_UDP 5060 through to the LiveKit group, health-checked on the SIP health port, ending sticky flows on deregistration', () => {
    const listeners = of('large', T.listener).filter((l) => l.name.startsWith('voice-lb-sip'));
    expect(listeners.map((l) => [l.name, l.inputs.protocol, l.inputs.port])).toEqual([['voice-lb-sip', 'TCP_UDP', 5060]]);
    const signalling = byName('large', 'voice-lb-signalling', T.nlb)!;
    const targetGroup = byName('large', 'voice-lb-sip', T.targetGroup)!;
    expect(listeners[0]!.inputs).toMatchObject({ loadBalancerArn: expect.stringContaining(signalling.physicalName!) });
    expect(targetGroup.inputs).toMatchObject({
      protocol: 'TCP_UDP',
      port: 5060,
      targetType: 'instance',
      deregistrationDelay: 30,
      connectionTermination: true,
      healthCheck: { protocol: 'HTTP', port: '8086', path: '/', matcher: '200' },
    });
    // The LiveKit nodes are its targets.
    const livekit = of('large', T.group).find((g) => g.name === 'voice-livekit')!;
    expect(livekit.inputs.targetGroupArns as string[]).toContainEqual(expect.stringContaining(`targetgroup/${targetGroup.physicalName}`));
    // mid reaches its node's Elastic IP: no SIP listener there.
    expect(of('mid', T.listener).filter((l) => l.name.startsWith('voice-lb-sip'))).toEqual([]);
  });

  it('the NLB admits SIP signalling from the provider ranges only (never RTP); the nodes admit its health checks', () => {
    const nlb = rulesCovering('large', 'udp', 5060).filter((r) => r.group === 'voice-sg-nlb');
    expect(nlb.map((r) => r.inputs.cidrIpv4).sort()).toEqual(PROVIDER_RANGES.twilio.signalling.map((r) => r.cidr).sort());
    expect(rulesCovering('large', 'udp', 10_000).filter((r) => r.group === 'voice-sg-nlb')).toEqual([]);
    const health = rulesCovering('large', 'tcp', 8086);
    expect(health.map((r) => [r.group, byId('large', r.inputs.referencedSecurityGroupId)?.name])).toEqual([['voice-sg-livekit', 'voice-sg-nlb']]);
    expect(rulesCovering('mid', 'tcp', 8086)).toEqual([]);
  });

  it('the drain watcher of a LiveKit node stops the SIP service with LiveKit (its calls drain before the node goes)', () => {
    const files = machineFiles('large').get('voice-livekit')!;
    expect(composeOf(files).services['drain-watch']!.environment!.DRAIN_SERVICES).toBe('livekit,sip');
  });
});

describe('a Telnyx trunk with TLS, numbers, outbound trunk and credentials (large)', () => {
  const key = 'large-telnyx-tls';

  it('opens 5060 UDP/TCP and 5061 to the Telnyx signalling addresses only, RTP to any address (Telnyx media ranges unverified)', () => {
    const telnyx = PROVIDER_RANGES.telnyx.signalling.map((r) => r.cidr).sort();
    for (const [protocol, port] of [['udp', 5060], ['tcp', 5060], ['tcp', 5061]] as const) {
      for (const group of ['voice-sg-livekit', 'voice-sg-nlb']) {
        const rules = rulesCovering(key, protocol, port).filter((r) => r.group === group);
        expect(rules.map((r) => r.inputs.cidrIpv4).sort(), `${group} ${protocol} ${port}`).toEqual(telnyx);
      }
    }
    expect(rulesCovering(key, 'udp', 15_000).map((r) => [r.group, r.inputs.cidrIpv4])).toEqual([['voice-sg-livekit', '0.0.0.0/0']]);
  });

  it('adds a TCP 5061 pass-through listener (the SIP service terminates TLS) preserving client addresses; the URI names the SIP host', () => {
    const tls = byName(key, 'voice-lb-sip-tls', T.targetGroup)!;
    expect(tls.inputs).toMatchObject({ protocol: 'TCP', port: 5061, preserveClientIp: 'true', connectionTermination: true });
    const listener = of(key, T.listener).find((l) => l.name === 'voice-lb-sip-tls')!;
    expect(listener.inputs.certificateArn).toBeUndefined();
    expect(plans.get(key)!.outputs.sipUri).toBe('sip:sip.voice.large.example.com:5061;transport=tls');
    expect(plans.get(key)!.outputs.sipNumbers).toEqual(['+15550100001', '+15550100002']);
  });

  it('the nodes read the certificate secret at boot (IAM and boot.sh); the credentials stay secret in the plan', () => {
    expect(livekitPolicy(key).find((s) => s.Sid === 'ReadStackSecrets')!.Resource).toContain(CERTIFICATE_ARN);
    const files = machineFiles(key).get('voice-livekit')!;
    expect(files.get(NODE_FILES.bootScript)).toContain(CERTIFICATE_ARN);
    expect(composeOf(files).services.sip!.volumes).toContain(`${SIP_FILES.tlsDir}:${SIP_FILES.containerTlsDir}:ro`);
    const version = of(key, 'aws:secretsmanager/secretVersion:SecretVersion').find((v) => v.name === 'voice-secrets-sip-credentials')!;
    expect(version.inputs.secretString).toBe('[secret]');
  });

  it("tells the agent workers the outbound trunk's name (ESCALATION_OUTBOUND_TRUNK): the transfer dials out on it", () => {
    const agentEnv = composeOf(machineFiles(key).get('voice-agents')!).services.agent!.environment!;
    expect(agentEnv.ESCALATION_OUTBOUND_TRUNK).toBe(sipObjectNames('large').outbound);
    // A stack without an outbound trunk names none.
    expect(composeOf(machineFiles('large').get('voice-agents')!).services.agent!.environment!.ESCALATION_OUTBOUND_TRUNK).toBeUndefined();
  });

  it('declares the trunks with auth flags and SRTP, never the credentials', () => {
    const parameter = of(key, T.parameter).find((p) => p.inputs.name === sipDeclarationParameterName('large'))!;
    const declaration = JSON.parse(parameter.inputs.insecureValue as string);
    expect(declaration.inboundTrunk).toMatchObject({ numbers: ['+15550100001', '+15550100002'], auth: true, mediaEncryption: 'require' });
    expect(declaration.outboundTrunk).toMatchObject({ address: 'sip.telnyx.com', transport: 'tls', auth: true });
    expect(parameter.inputs.insecureValue).not.toMatch(/secret|\[secret\]/i);
  });

  it('passes every resource policy', async () => {
    for (const r of plans.get(key)!.resources) {
      for (const policy of policies.filter((p) => 'validateResource' in p)) {
        const violations = await resourceViolations(policy as ResourceValidationPolicy, { type: r.type, name: r.name, props: r.inputs, ...(r.options ? { options: r.options } : {}) });
        expect(violations, `${policy.name} on ${r.name}`).toEqual([]);
      }
    }
  });
});

describe('mid with SIP over TLS', () => {
  it('names the SIP host in the URI (the certificate names it), still the node’s Elastic IP behind it', () => {
    const outputs = plans.get('mid-tls')!.outputs;
    expect(outputs.sipUri).toBe('sip:sip.voice.mid.example.com:5061;transport=tls');
    expect((outputs.dnsRecords as string[]).find((r) => r.startsWith('sip.'))).toMatch(/^sip\.voice\.mid\.example\.com A \d+\.\d+\.\d+\.\d+$/);
    expect(rulesCovering('mid-tls', 'tcp', 5061).every((r) => r.group === 'voice-sg-livekit')).toBe(true);
    expect(of('mid-tls', T.listener).filter((l) => l.name.startsWith('voice-lb-sip'))).toEqual([]);
  });
});

describe.each(EXAMPLE_STACKS)('%s with sip.enabled false: none of it', (stack) => {
  const key = `${stack}-off`;
  const sipNamed = (r: PlannedResource) => /sip/.test(r.name);

  it('no SIP resource, rule, listener, parameter, secret or record; no SIP outputs', () => {
    expect(plans.get(key)!.resources.filter(sipNamed).map((r) => r.name)).toEqual([]);
    for (const [protocol, port] of [['udp', 5060], ['tcp', 5060], ['tcp', 5061], ['udp', 10_000], ['tcp', 8086]] as const) {
      expect(rulesCovering(key, protocol, port), `${protocol} ${port}`).toEqual([]);
    }
    const outputs = plans.get(key)!.outputs;
    expect(outputs.sipUri).toBeUndefined();
    expect(outputs.sipNumbers).toBeUndefined();
    expect((outputs.dnsRecords as string[]).some((r) => r.startsWith('sip.'))).toBe(false);
    expect(Object.keys(outputs.secretArns as object)).not.toContain('sipCredentials');
  });

  it('no SIP service, template or watcher on the nodes; the single node’s livekit.yaml keeps no Redis', () => {
    for (const [machine, files] of machineFiles(key)) {
      expect(Object.hasOwn(composeOf(files).services, 'sip'), machine).toBe(false);
      expect([...files.keys()].filter((p) => /sip/.test(p)), machine).toEqual([]);
      const livekit = files.get(NODE_FILES.livekitConfig);
      if (livekit && stack !== 'large') expect((parse(livekit) as { redis?: unknown }).redis, machine).toBeUndefined();
    }
    const base = exampleConfig(stack);
    const config = { ...base, sip: { ...base.sip, enabled: false } };
    expect(stackImages(config, buildStackReport(stack, config).plan).map((i) => i.image)).not.toContain(PINNED_IMAGES.sip);
  });
});

describe('policy no-open-sip-signalling', () => {
  const policy = () => policies.find((p) => p.name === 'no-open-sip-signalling') as ResourceValidationPolicy;
  it.each([
    ['UDP 5060 from 0.0.0.0/0', { type: T.ingress, name: 'sip-open', props: { ipProtocol: 'udp', fromPort: 5060, toPort: 5060, cidrIpv4: '0.0.0.0/0' } }],
    ['TLS 5061 from ::/0', { type: T.ingress, name: 'sip-tls-open', props: { ipProtocol: 'tcp', fromPort: 5061, toPort: 5061, cidrIpv6: '::/0' } }],
    ['a range over 5060 from the internet', { type: T.ingress, name: 'wide', props: { ipProtocol: 'tcp', fromPort: 5000, toPort: 6000, cidrIpv4: '0.0.0.0/0' } }],
    ['every protocol from the internet', { type: T.ingress, name: 'all', props: { ipProtocol: '-1', cidrIpv4: '0.0.0.0/0' } }],
    ['an inline rule of a group', { type: T.sg, name: 'sg', props: { ingress: [{ protocol: 'udp', fromPort: 5060, toPort: 5060, cidrBlocks: ['0.0.0.0/0'] }] } }],
    ['a legacy rule', { type: 'aws:ec2/securityGroupRule:SecurityGroupRule', name: 'legacy', props: { type: 'ingress', protocol: 'udp', fromPort: 5060, toPort: 5061, cidrBlocks: ['0.0.0.0/0'] } }],
  ])('refuses %s, naming the resource', async (_what, resource) => {
    const violations = await resourceViolations(policy(), resource);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatch(new RegExp(`^${resource.name}.*may reach SIP signalling`));
  });

  it.each([
    ['a provider range on 5060', { type: T.ingress, name: 'twilio', props: { ipProtocol: 'udp', fromPort: 5060, toPort: 5060, cidrIpv4: '54.172.60.0/30' } }],
    ['RTP from the internet', { type: T.ingress, name: 'rtp', props: { ipProtocol: 'udp', fromPort: 10_000, toPort: 20_000, cidrIpv4: '0.0.0.0/0' } }],
    ['the NLB group on the health port', { type: T.ingress, name: 'health', props: { ipProtocol: 'tcp', fromPort: 8086, toPort: 8086, referencedSecurityGroupId: 'sg-1' } }],
  ])('lets %s through', async (_what, resource) => {
    expect(await resourceViolations(policy(), resource)).toEqual([]);
  });

  it('no-secrets-in-user-data: a boot-time placeholder passes, a real value beside it does not', async () => {
    const secrets = policies.find((p) => p.name === 'no-secrets-in-user-data') as ResourceValidationPolicy;
    const userData = (text: string) => ({ type: T.instance, name: 'box', props: { userData: `#cloud-config\n${text}\n` } });
    expect(await resourceViolations(secrets, userData(`api_secret: "${SIP_CONFIG_PLACEHOLDERS.apiSecret}"`))).toEqual([]);
    expect(await resourceViolations(secrets, userData('api_secret: "@@hunter2hunter2"'))).toHaveLength(1);
    expect(await resourceViolations(secrets, userData('api_secret: "hunter2hunter2"'))).toHaveLength(1);
  });
});

describe('SIP credentials, in process (the secrets stay secret)', () => {
  const CANARIES = { sipOutboundUsername: 'SipUserCanary7', sipOutboundPassword: 'SipPassCanary9' };

  it('reach the credentials secret only: not the user data, the parameter, the printed inputs or the outputs', async () => {
    const { AwsVoiceStack } = await import('../../components/aws/voice-stack.js');
    const base = exampleConfig('mid');
    // As configFromPulumi parses it: the credential keys set (their values never enter the config).
    const config: StackConfig = {
      ...base,
      sip: { ...base.sip, outbound: { address: 'example.pstn.twilio.com', numbers: ['+15550100001'], transport: 'auto' } },
      sipOutboundUsername: true,
      sipOutboundPassword: true,
    };
    const { plan } = buildStackReport('mid', config);
    const stack = new AwsVoiceStack('voice', {
      stack: 'mid',
      config,
      plan,
      repoRoot: REPO_ROOT,
      sipCredentials: { sipOutboundUsername: pulumi.secret(CANARIES.sipOutboundUsername), sipOutboundPassword: pulumi.secret(CANARIES.sipOutboundPassword) },
    });
    const outputs = JSON.stringify(await valueOf(pulumi.all([stack.sipUri, stack.sipNumbers, stack.secretArns, stack.dnsRecords])));
    await valueOf(stack.dashboardUrl);
    await waitForRegistrations();
    const version = registeredResources().find((r) => r.name === 'voice-secrets-sip-credentials' && r.type === 'aws:secretsmanager/secretVersion:SecretVersion')!;
    expect(version.secretInputs).toContain('secretString');
    expect(version.rawInputs.secretString).toBe(`# SIP credentials of voice-agent-infra (sip-watch hands them to voice-agent sip-sync)\nSIP_OUTBOUND_USERNAME=${CANARIES.sipOutboundUsername}\nSIP_OUTBOUND_PASSWORD=${CANARIES.sipOutboundPassword}\n`);
    const printed = JSON.stringify(registeredResources().map((r) => r.inputs));
    const machines = registeredResources().filter((r) => r.type === T.instance || r.type === T.launchTemplate);
    expect(machines.length).toBeGreaterThan(0);
    for (const canary of Object.values(CANARIES)) {
      expect(printed).not.toContain(canary);
      expect(outputs).not.toContain(canary);
      for (const m of machines) expect(userDataText(m.type, m.rawInputs)).not.toContain(canary);
    }
    const declaration = registeredResources().find((r) => r.type === T.parameter && r.rawInputs.name === sipDeclarationParameterName('mid'))!;
    expect(JSON.parse(declaration.rawInputs.insecureValue as string).outboundTrunk).toMatchObject({ auth: true });
  });
});
