/** Bad AWS config: one clear ConfigError naming the key, from the pure check and from the real program. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { validateAwsConfig } from '../../components/aws/validate.js';
import { AWS_MAX_DRAIN_SECONDS, ConfigError, parseStackConfig, type StackConfigInput } from '../../components/config.js';
import { planDeployment } from '../../components/plan/plan.js';
import { offlinePlan } from '../../scripts/lib/offline-plan.js';
import { stackFile } from '../../scripts/lib/stacks.js';
import { errorOf } from '../fixtures/config-error.js';

const AGENT_ENV_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:voice-agent/test/agent-env-Ab12Cd';
// Every AWS config names the agent env secret unless a test removes it (aws.agentEnvSecretArn is required).
const config = (over: Partial<StackConfigInput> & { aws?: StackConfigInput['aws'] }) =>
  parseStackConfig({ monthlyMinutes: 250_000, ...over, aws: { domain: 'voice.example.com', route53ZoneId: 'Z1', agentEnvSecretArn: AGENT_ENV_ARN, ...over.aws } });

const check = (c: ReturnType<typeof config>, providerRegion = 'us-east-1') => validateAwsConfig(c, planDeployment(c), providerRegion);

describe('validateAwsConfig', () => {
  it('refuses the large tier on an existing VPC with subnets in one zone', () => {
    const error = errorOf(() =>
      check(config({ aws: { domain: 'voice.example.com', route53ZoneId: 'Z1', vpcId: 'vpc-1', subnets: [{ id: 'subnet-a', availabilityZone: 'us-east-1a' }, { id: 'subnet-b', availabilityZone: 'us-east-1a' }] } })),
    );
    expect(error.key).toBe('aws.subnets');
    expect(error.message).toMatch(/at least 2 availability zones .*ElastiCache Multi-AZ.*got us-east-1a/);
  });
  it('accepts the small tier in one zone, and an existing VPC across two', () => {
    expect(check(config({ monthlyMinutes: 10_000, aws: { domain: 'voice.example.com', vpcId: 'vpc-1', subnets: [{ id: 's', availabilityZone: 'us-east-1a' }] } })).existing?.vpcId).toBe('vpc-1');
    const two = [{ id: 'a', availabilityZone: 'us-east-1a' }, { id: 'b', availabilityZone: 'us-east-1b' }];
    expect(check(config({ aws: { domain: 'voice.example.com', route53ZoneId: 'Z1', vpcId: 'vpc-1', subnets: two } })).existing?.subnets).toHaveLength(2);
  });
  it('needs a domain on every tier (wss and turns)', () => {
    const error = errorOf(() => check(config({ monthlyMinutes: 10_000, aws: { domain: '' } })));
    expect(error.key).toBe('aws.domain');
    expect(error.message).toMatch(/is required/);
  });
  it('needs a certificate or a zone to issue one where the NLB terminates TLS', () => {
    const error = errorOf(() => check(config({ monthlyMinutes: 50_000, aws: { domain: 'voice.example.com', route53ZoneId: undefined } })));
    expect(error.key).toBe('aws.certificateArn');
    expect(error.message).toMatch(/aws.route53ZoneId/);
    expect(errorOf(() => check(config({ aws: { domain: 'voice.example.com', certificateArn: 'not-an-arn' } }))).key).toBe('aws.certificateArn');
  });
  it('refuses the same name for signalling and TURN, an open operator CIDR, an unpinned image, a subnet outside the region', () => {
    expect(errorOf(() => check(config({ aws: { domain: 'voice.example.com', turnDomain: 'voice.example.com', route53ZoneId: 'Z1' } }))).key).toBe('aws.turnDomain');
    expect(errorOf(() => check(config({ aws: { domain: 'voice.example.com', route53ZoneId: 'Z1', operatorCidrs: ['0.0.0.0/0'] } }))).key).toBe('aws.operatorCidrs[0]');
    expect(errorOf(() => check(config({ aws: { domain: 'voice.example.com', route53ZoneId: 'Z1', agentImage: 'acme/voice-agent:latest' } }))).key).toBe('aws.agentImage');
    const far = [{ id: 'a', availabilityZone: 'eu-west-1a' }, { id: 'b', availabilityZone: 'us-east-1b' }];
    expect(errorOf(() => check(config({ aws: { domain: 'voice.example.com', route53ZoneId: 'Z1', vpcId: 'v', subnets: far } }))).key).toBe('aws.subnets[0].availabilityZone');
  });
  it('one region: aws.region is refused, naming aws:region; existing subnets must lie in the provider region', () => {
    const error = errorOf(() => parseStackConfig({ monthlyMinutes: 10_000, aws: { region: 'eu-west-1', domain: 'voice.example.com' } }));
    expect(error.key).toBe('aws.region');
    expect(error.message).toMatch(/is not a voice-agent-infra key: the stack runs in the AWS provider region; set it with `pulumi config set aws:region <region>`/);
    const subnets = [{ id: 'a', availabilityZone: 'eu-west-1a' }, { id: 'b', availabilityZone: 'eu-west-1b' }];
    const c = config({ aws: { domain: 'voice.example.com', route53ZoneId: 'Z1', vpcId: 'v', subnets } });
    expect(check(c, 'eu-west-1').existing?.subnets).toHaveLength(2);
    expect(errorOf(() => check(c, 'us-east-1')).message).toMatch(/must be a zone of the provider region aws:region \(us-east-1\)/);
    // us-east-1 is a prefix of us-east-10 only by text: zones are the region plus a letter.
    expect(errorOf(() => check(config({ aws: { domain: 'voice.example.com', route53ZoneId: 'Z1', vpcId: 'v', subnets: [{ id: 'a', availabilityZone: 'us-east-10a' }, { id: 'b', availabilityZone: 'us-east-1b' }] } }), 'us-east-1')).key).toBe(
      'aws.subnets[0].availabilityZone',
    );
  });

  it('the deploy knobs: defaults, and a clear refusal of a bad value', () => {
    const placement = check(config({}));
    expect(placement).toMatchObject({ amiId: null, caddyImage: null, ecrForceDelete: false, healthCheckGraceSeconds: 600 });
    expect(config({}).aws.drainSeconds).toBe(AWS_MAX_DRAIN_SECONDS);
    expect(check(config({ aws: { domain: 'voice.example.com', route53ZoneId: 'Z1', ecrForceDelete: 'true' as never } })).ecrForceDelete).toBe(true);
    for (const [aws, key, message] of [
      [{ amiId: 'ubuntu-24.04' }, 'aws.amiId', /must be an AMI id such as ami-0123456789abcdef0/],
      [{ ecrForceDelete: 'yes' }, 'aws.ecrForceDelete', /must be true or false/],
      [{ healthCheckGraceSeconds: 7201 }, 'aws.healthCheckGraceSeconds', /must be at most 7200/],
      [{ drainSeconds: 7021 }, 'aws.drainSeconds', /must be at most 7020/],
      [{ dataVolumeGiB: 0 }, 'aws.dataVolumeGiB', /must be at least 1/],
    ] as const) {
      const error = errorOf(() => config({ aws: { domain: 'voice.example.com', route53ZoneId: 'Z1', ...aws } as never }));
      expect(error.key).toBe(key);
      expect(error.message).toMatch(message);
    }
    expect(errorOf(() => check(config({ aws: { domain: 'voice.example.com', route53ZoneId: 'Z1', caddyImage: 'livekit/caddyl4' } }))).key).toBe('aws.caddyImage');
  });

  it('needs the agent env secret on every tier: one line naming the key, the command that creates it and the keys these providers need', () => {
    for (const [minutes, tts, ttsKey] of [[10_000, 'cartesia-sonic', 'CARTESIA_API_KEY'], [250_000, 'elevenlabs-flash', 'ELEVEN_API_KEY']] as const) {
      const c = config({ monthlyMinutes: minutes, providers: { tts }, aws: { agentEnvSecretArn: undefined } });
      const error = errorOf(() => validateAwsConfig(c, planDeployment(c), 'us-east-1', 'prod'));
      expect(error.key).toBe('aws.agentEnvSecretArn');
      expect(error.message.split('\n')).toHaveLength(1);
      expect(error.message).toContain('aws.agentEnvSecretArn = (missing): is required');
      expect(error.message).toContain(
        `\`aws secretsmanager create-secret --name voice-agent/prod/agent-env --secret-string '{"OPENAI_API_KEY":"...","DEEPGRAM_API_KEY":"...","${ttsKey}":"..."}'\``,
      );
    }
  });

  it('the agent env secret: a full Secrets Manager ARN (with its 6-character suffix); a KMS key ARN in its region', () => {
    const bad = (aws: Record<string, string>) => errorOf(() => check(config({ aws })));
    for (const arn of ['voice-agent/test/agent-env', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:voice-agent/test/agent-env', 'arn:aws:s3:::bucket', '{"OPENAI_API_KEY":"sk-x"}']) {
      const error = bad({ agentEnvSecretArn: arn });
      expect(error.key, arn).toBe('aws.agentEnvSecretArn');
      expect(error.message).toMatch(/must be the full ARN of a Secrets Manager secret, with the 6 characters/);
    }
    expect(check(config({})).agentEnv).toEqual({ secretArn: AGENT_ENV_ARN, kmsKeyArn: null, expectedKeys: ['OPENAI_API_KEY', 'DEEPGRAM_API_KEY', 'CARTESIA_API_KEY'] });
    const key = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(check(config({ aws: { agentEnvKmsKeyArn: key } })).agentEnv.kmsKeyArn).toBe(key);
    expect(bad({ agentEnvKmsKeyArn: 'alias/voice-agent' }).message).toMatch(/aws.agentEnvKmsKeyArn = "alias\/voice-agent": must be a KMS key ARN/);
    expect(bad({ agentEnvKmsKeyArn: key.replace('us-east-1', 'eu-west-1') }).message).toMatch(/must be in the secret's region \(us-east-1\)/);
  });

  it('leaves instance types too small for the plan to planDeployment (it names capacity.agentInstanceType)', () => {
    const error = errorOf(() => planDeployment(config({ capacity: { agentInstanceType: 't3.small' } })));
    expect(error.key).toBe('capacity.agentInstanceType');
    expect(error.message).toMatch(/too small for an agent worker \(2 vCPU \/ 2 GiB\)/);
  });
});

describe('the program refuses bad config with one line naming the key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bad-stacks-'));
  const variant = (name: string, edit: (config: Record<string, unknown>) => void) => {
    const doc = parse(readFileSync(stackFile('large'), 'utf8')) as { config: Record<string, unknown> };
    edit(doc.config);
    const file = join(dir, `Pulumi.${name}.yaml`);
    writeFileSync(file, stringify(doc));
    return file;
  };
  const aws = (c: Record<string, unknown>) => c['voice-agent-infra:aws'] as Record<string, unknown>;

  it.each([
    [
      'large on one zone',
      (c: Record<string, unknown>) => Object.assign(aws(c), { vpcId: 'vpc-1', subnets: [{ id: 'subnet-a', availabilityZone: 'us-east-1a' }] }),
      /voice-agent-infra:aws\.subnets = .*at least 2 availability zones/,
    ],
    ['TLS without a domain', (c: Record<string, unknown>) => delete aws(c).domain, /voice-agent-infra:aws\.domain = \(missing\): is required/],
    [
      'no agent env secret',
      (c: Record<string, unknown>) => delete aws(c).agentEnvSecretArn,
      /voice-agent-infra:aws\.agentEnvSecretArn = \(missing\): is required: .*create-secret --name voice-agent\/bad\/agent-env .*"ELEVEN_API_KEY":"\.\.\."/,
    ],
    ['TLS without a certificate', (c: Record<string, unknown>) => delete aws(c).route53ZoneId, /voice-agent-infra:aws\.certificateArn = \(missing\)/],
    [
      'an agent instance type too small',
      (c: Record<string, unknown>) => Object.assign(c['voice-agent-infra:capacity'] as object, { agentInstanceType: 't3.small' }),
      /voice-agent-infra:capacity\.agentInstanceType = "t3\.small": too small for an agent worker/,
    ],
    ['a second region key', (c: Record<string, unknown>) => Object.assign(aws(c), { region: 'eu-west-1' }), /voice-agent-infra:aws\.region = "eu-west-1": is not a voice-agent-infra key: .*aws:region/],
    [
      'the Kubernetes target on large without a Redis',
      (c: Record<string, unknown>) => (c['voice-agent-infra:target'] = 'kubernetes'),
      /voice-agent-infra:kubernetes\.redisUrl = \(missing\): is required on the large tier/,
    ],
    [
      'the Kubernetes target without a domain',
      (c: Record<string, unknown>) => Object.assign(c, { 'voice-agent-infra:target': 'kubernetes', 'voice-agent-infra:kubernetes': { inClusterRedis: true } }),
      /voice-agent-infra:kubernetes\.domain = \(missing\): is required/,
    ],
  ])('%s', async (name, edit, message) => {
    const file = variant(name.replaceAll(' ', '-'), edit);
    const error = await offlinePlan('bad', { stackFile: file }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message.split('\n')).toHaveLength(1);
    expect((error as ConfigError).message).toMatch(message);
  });
});
