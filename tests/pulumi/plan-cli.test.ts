/** `npm run plan` with the offline resource plan: the whole graph, from a fresh process, as JSON and as a tree. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Runs the CLI as a user does, without cloud credentials. */
function npmPlan(...args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  const result = spawnSync('npm', ['run', '-s', 'plan', '--', ...args], { encoding: 'utf8', env, timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('npm run plan with resources', () => {
  it('--stack large --json prints the whole resource graph with the plan', () => {
    const r = npmPlan('--stack', 'large', '--json');
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { tier: string; resources: Array<{ type: string; name: string; parent: string | null; inputs: Record<string, unknown> }> };
    expect(json.tier).toBe('large');
    const types = new Set(json.resources.map((x) => x.type));
    for (const type of ['aws:elasticache/replicationGroup:ReplicationGroup', 'aws:autoscaling/group:Group', 'aws:lb/loadBalancer:LoadBalancer', 'aws:cloudwatch/metricAlarm:MetricAlarm']) {
      expect(types.has(type), type).toBe(true);
    }
    for (const resource of json.resources) expect(Object.keys(resource)).toEqual(expect.arrayContaining(['type', 'name', 'parent', 'inputs']));
    expect(json.resources.find((x) => x.type === 'aws:secretsmanager/secretVersion:SecretVersion')?.inputs.secretString).toBe('[secret]');
  });

  it('--stack all runs every stack; the readable form shows the tree per component and the cost', () => {
    const r = npmPlan('--stack', 'all');
    expect(r.code, r.stderr).toBe(0);
    for (const stack of ['small', 'mid', 'large']) expect(r.stdout).toContain(`Stack ${stack}: tier ${stack}`);
    expect(r.stdout).toMatch(/Resources \(the Pulumi program under mocks: \d+ resources in \d+ components\)/);
    expect(r.stdout).toContain('  voice  voice-agent-infra:aws:AwsVoiceStack');
    expect(r.stdout).toContain('      voice-redis  aws:elasticache:ReplicationGroup');
    expect(r.stdout).toMatch(/total\s+\$[\d,]+/);
  });
});
