/**
 * The agent worker's provider API keys in the mocked resource graph of the real program (index.ts
 * under the engine-like mocks, one child process per example stack): per tier, exactly the roles
 * whose machines run the agent worker may read the operator's secret (and, on large, decrypt it
 * with its customer managed key through Secrets Manager only), their boot script reads it by ARN,
 * and the stack never holds a value of it: no secret resource, nothing in the outputs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { agentProviderKeys, ttsVendor } from '../../components/agent-providers.js';
import { type ComposeFile, NODE_FILES } from '../../components/livekit/index.js';
import { findSecretMaterial, userDataText } from '../../components/policy/policies.js';
import { type OfflinePlan, offlinePlans, type PlannedResource } from '../../scripts/lib/offline-plan.js';
import { EXAMPLE_STACKS, exampleConfig } from './helpers.js';

const T = {
  instance: 'aws:ec2/instance:Instance',
  launchTemplate: 'aws:ec2/launchTemplate:LaunchTemplate',
  rolePolicy: 'aws:iam/rolePolicy:RolePolicy',
} as const;

interface Statement {
  Sid: string;
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string>>;
}

const plans = new Map<string, OfflinePlan>();
beforeAll(async () => {
  for (const plan of await offlinePlans(EXAMPLE_STACKS)) plans.set(plan.stack, plan);
}, 180_000);

const of = (stack: string, type: string) => plans.get(stack)!.resources.filter((r) => r.type === type);
const statementsOf = (policy: PlannedResource) => (JSON.parse(policy.inputs.policy as string) as { Statement: Statement[] }).Statement;
/** The machine (single instance or launch template) whose compose file runs the agent worker, and the others. */
function machines(stack: string) {
  return [...of(stack, T.instance), ...of(stack, T.launchTemplate)].map((m) => {
    const text = userDataText(m.type, m.inputs)!;
    const files = new Map((parse(text) as { write_files: Array<{ path: string; content: string }> }).write_files.map((f) => [f.path, f.content]));
    const compose = parse(files.get(NODE_FILES.compose)!) as ComposeFile;
    const workers = Object.entries(compose.services).filter(([, svc]) => svc?.command?.[0] === 'agent');
    return { name: m.name, text, files, compose, workers };
  });
}
/** The role policy of a machine: voice-livekit (the single node or the LiveKit group) or voice-agents. */
const rolePolicyOf = (stack: string, machine: string) => of(stack, T.rolePolicy).find((p) => p.name === `${machine}-role-policy`)!;

describe.each(EXAMPLE_STACKS)('stack %s: the agent env secret', (stack) => {
  const config = () => exampleConfig(stack);
  const arn = () => config().aws.agentEnvSecretArn!;

  it('the roles whose machines run the agent worker may GetSecretValue on exactly that ARN; no other role may', () => {
    const ms = machines(stack);
    const runners = ms.filter((m) => m.workers.length > 0).map((m) => m.name);
    expect(runners).toEqual([stack === 'small' ? 'voice-livekit' : 'voice-agents']);
    for (const m of ms) {
      const statements = statementsOf(rolePolicyOf(stack, m.name));
      const read = statements.filter((st) => JSON.stringify(st.Resource).includes(arn()));
      if (runners.includes(m.name)) {
        expect(read, m.name).toEqual([{ Sid: 'ReadAgentEnvSecret', Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: arn() }]);
      } else {
        // The LiveKit machines of mid and large run no worker: they never see the providers' keys.
        expect(read, m.name).toEqual([]);
        expect(JSON.stringify(statements)).not.toContain('agent-env');
      }
    }
  });

  it('a customer managed key (large) may decrypt through Secrets Manager, for that secret only; none where the secret uses aws/secretsmanager', () => {
    const agentRole = stack === 'small' ? 'voice-livekit' : 'voice-agents';
    const decrypt = statementsOf(rolePolicyOf(stack, agentRole)).filter((st) => st.Action.some((a) => a.startsWith('kms:')));
    const key = config().aws.agentEnvKmsKeyArn;
    if (key === undefined) {
      expect(decrypt).toEqual([]);
      return;
    }
    expect(decrypt).toEqual([
      {
        Sid: 'DecryptAgentEnvSecret',
        Effect: 'Allow',
        Action: ['kms:Decrypt'],
        Resource: key,
        Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com', 'kms:EncryptionContext:SecretARN': arn() } },
      },
    ]);
  });

  it('the worker’s machine reads it at boot by ARN, expecting the keys of the configured providers; its worker gets the file and the TTS vendor', () => {
    const expected = agentProviderKeys(config());
    for (const m of machines(stack)) {
      const boot = m.files.get(NODE_FILES.bootScript)!;
      if (m.workers.length === 0) {
        expect(m.text, m.name).not.toContain(arn());
        expect(boot).not.toContain('read_agent_env');
        continue;
      }
      expect(boot).toMatch(new RegExp(`^read_agent_env '${arn().replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}' 'us-east-1' '[A-Z_ ]+' '[A-Z_ ]+' '${expected.join(' ')}'$`, 'm'));
      for (const [name, svc] of m.workers) {
        expect(svc!.env_file, name).toEqual([NODE_FILES.agentEnv, NODE_FILES.agentProvidersEnv]);
        expect(svc!.environment?.TTS_PROVIDER, name).toBe(ttsVendor(config()));
      }
      // Intake and dispatcher never get the providers' keys.
      for (const queue of ['intake', 'dispatcher'] as const) expect(m.compose.services[queue]?.env_file ?? [], queue).not.toContain(NODE_FILES.agentProvidersEnv);
      expect(findSecretMaterial(m.text), m.name).toBeNull();
    }
    if (stack === 'large') expect(expected).toContain('ELEVEN_API_KEY');
  });

  it('the stack holds no value of it: no secret resource of its own, and the outputs name no provider key', () => {
    const plan = plans.get(stack)!;
    // User data is sent gzip-compressed and base64-encoded: read it as text.
    const text = (r: PlannedResource) => (r.type === T.instance || r.type === T.launchTemplate ? userDataText(r.type, r.inputs)! : JSON.stringify(r.inputs));
    const mentions = plan.resources.filter((r) => text(r).includes('agent-env'));
    expect(new Set(mentions.map((r) => r.type))).toEqual(new Set([T.rolePolicy, ...(stack === 'small' ? [T.instance] : [T.launchTemplate])]));
    for (const r of plan.resources.filter((r) => r.type.startsWith('aws:secretsmanager/'))) expect(JSON.stringify(r.inputs)).not.toContain('agent-env');
    expect(JSON.stringify(plan.outputs)).not.toMatch(/OPENAI_API_KEY|DEEPGRAM_API_KEY|CARTESIA_API_KEY|ELEVEN_API_KEY/);
  });
});

describe('stack small: the agent worker in two slots, one started', () => {
  it('agent-a and agent-b on their own ports and hostnames; the unit starts agent-a, image-watch rolls between them', () => {
    const [box] = machines('small');
    expect(box!.workers.map(([name]) => name)).toEqual(['agent-a', 'agent-b']);
    const [a, b] = box!.workers.map(([, svc]) => svc!);
    expect([a!.hostname, b!.hostname]).toEqual(['agent-a', 'agent-b']);
    expect([a!.environment?.AGENT_HEALTH_PORT, b!.environment?.AGENT_HEALTH_PORT]).toEqual(['8081', '8082']);
    expect([a!.environment?.AGENT_METRICS_PORT, b!.environment?.AGENT_METRICS_PORT]).toEqual(['9464', '9466']);
    const unit = box!.files.get('/etc/systemd/system/voice-agent-docker.service')!;
    expect(unit).toMatch(/^ExecStart=.* up --remove-orphans caddy livekit redis sip intake dispatcher agent-a$/m);
    expect(box!.files.get(NODE_FILES.imageWatchScript)).toContain('compose up --detach --no-deps "$next"');
  });
});
