/**
 * The offline plan diff, pure: input paths, replacement by the replace-on-change table and the
 * resource options, changes that follow from dependencies, stacks added / removed / unchanged,
 * cost deltas.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configFromStackFile } from '../../components/config.js';
import { buildStackReport } from '../../components/report.js';
import type { PlannedResource } from '../../scripts/lib/offline-plan.js';
import {
  assessChange,
  changedResources,
  diffInputs,
  diffPlans,
  parsePath,
  pathCovers,
  type SavedStackPlan,
  stacksOverIncrease,
} from '../../scripts/lib/plan-diff.js';
import { REPLACE_ON_CHANGE, rulesFor } from '../../scripts/lib/plan-diff-replace.js';
import { stackFile } from '../../scripts/lib/stacks.js';

const INSTANCE = 'aws:ec2/instance:Instance';

function resource(type: string, name: string, inputs: Record<string, unknown>, extra: Partial<PlannedResource> = {}): PlannedResource {
  return { type, name, parent: 'voice', id: `${name}-id`, inputs, ...extra };
}

/** The single LiveKit node as the mid stack builds it (abridged). */
function singleNode(overrides: Record<string, unknown> = {}, extra: Partial<PlannedResource> = {}): PlannedResource {
  return resource(
    INSTANCE,
    'voice-livekit',
    {
      ami: 'ami-0aaaaaaaaaaaaaaaa',
      instanceType: 'c7i.2xlarge',
      subnetId: 'subnet-0123',
      userData: '#cloud-config\npackages:\n  - docker.io\n',
      userDataReplaceOnChange: false,
      rootBlockDevice: { encrypted: true, volumeSize: 30, volumeType: 'gp3' },
      tags: { Name: 'voice-livekit', 'voice-agent-infra:tier': 'mid' },
      ...overrides,
    },
    { id: 'i-0123456789abcdef0', ...extra },
  );
}

function report(stack: string): SavedStackPlan {
  return buildStackReport(stack, configFromStackFile(readFileSync(stackFile(stack), 'utf8'), stack)).report;
}

describe('input paths', () => {
  it('names the changed leaves in Pulumi property path syntax', () => {
    const changes = diffInputs(
      { a: { b: 1, c: [1, 2] }, tags: { 'voice-agent-infra:tier': 'mid', Name: 'x' }, list: [{ k: 1 }, { k: 2 }] },
      { a: { b: 2, c: [1, 2, 3] }, tags: { 'voice-agent-infra:tier': 'large', Name: 'x' }, list: [{ k: 1 }, { k: 3 }], added: true },
    );
    expect(changes).toEqual([
      { path: 'a.b', before: 1, after: 2 },
      { path: 'a.c', before: [1, 2], after: [1, 2, 3] },
      { path: 'added', before: undefined, after: true },
      { path: 'list[1].k', before: 2, after: 3 },
      { path: 'tags["voice-agent-infra:tier"]', before: 'mid', after: 'large' },
    ]);
    expect(diffInputs({ x: [{ a: 1 }] }, { x: [{ a: 1 }] })).toEqual([]);
  });

  it('parses paths and matches option paths at or above a change, with [*] for any index', () => {
    expect(parsePath('tags["a.b:c"].x[3]')).toEqual(['tags', 'a.b:c', 'x', 3]);
    expect(pathCovers('userData', 'userData')).toBe(true);
    expect(pathCovers('rootBlockDevice', 'rootBlockDevice.volumeSize')).toBe(true);
    expect(pathCovers('tags["Name"]', 'tags["Name"]')).toBe(true);
    expect(pathCovers('tags["Name"]', 'tags["voice-agent-infra:tier"]')).toBe(false);
    expect(pathCovers('list[*].k', 'list[1].k')).toBe(true);
    expect(pathCovers('list[0].k', 'list[1].k')).toBe(false);
    expect(pathCovers('rootBlockDevice.volumeSize', 'rootBlockDevice')).toBe(false);
  });
});

describe('a single-node instance', () => {
  it('is replaced when its AMI changes, and the diff says its live calls drop', () => {
    const change = assessChange(singleNode(), singleNode({ ami: 'ami-0bbbbbbbbbbbbbbbb' }))!;
    expect(change.action).toBe('replace');
    expect(change.replaceReasons).toEqual(['ami']);
    expect(change.impact).toMatch(/single node.*drops the calls/);
  });

  it('is not replaced when the replacing input is in its ignoreChanges: the change is listed as ignored', () => {
    const ignoring = { options: { ignoreChanges: ['ami', 'userData'] } };
    const change = assessChange(singleNode({}, ignoring), singleNode({ ami: 'ami-0bbbbbbbbbbbbbbbb', userData: '#cloud-config\n' }, ignoring))!;
    expect(change.action).toBe('update');
    expect(change.replaceReasons).toEqual([]);
    expect(change.changes).toEqual([]);
    expect(change.ignored.map((c) => c.path)).toEqual(['ami', 'userData']);
    expect(change.impact).toBeNull();
  });

  it('is replaced by a user data change when userDataReplaceOnChange is set, stopped and started otherwise', () => {
    const replacing = assessChange(singleNode({ userDataReplaceOnChange: true }), singleNode({ userDataReplaceOnChange: true, userData: '#cloud-config\n# v2\n' }))!;
    expect(replacing.action).toBe('replace');
    expect(replacing.replaceReasons).toEqual(['userData (userDataReplaceOnChange is true)']);

    const restarting = assessChange(singleNode(), singleNode({ userData: '#cloud-config\n# v2\n' }))!;
    expect(restarting.action).toBe('update');
    expect(restarting.effects).toEqual(['stops and starts the instance']);
  });

  it('is updated in place for a tag or a root volume size, with no effect on calls', () => {
    const change = assessChange(singleNode(), singleNode({ tags: { Name: 'voice-livekit', 'voice-agent-infra:tier': 'large' }, rootBlockDevice: { encrypted: true, volumeSize: 40, volumeType: 'gp3' } }))!;
    expect(change.action).toBe('update');
    expect(change.effects).toEqual([]);
    expect(change.changes.map((c) => c.path)).toEqual(['rootBlockDevice.volumeSize', 'tags["voice-agent-infra:tier"]']);
  });

  it('is replaced by its replaceOnChanges option, and the options that change what a replacement does are noted', () => {
    const options = { options: { replaceOnChanges: ['tags'], deleteBeforeReplace: true, protect: true } };
    const change = assessChange(singleNode({}, options), singleNode({ tags: { Name: 'renamed' } }, options))!;
    expect(change.action).toBe('replace');
    expect(change.replaceReasons).toContain('tags.Name (replaceOnChanges option)');
    expect(change.notes.join(' ')).toMatch(/deleteBeforeReplace.*deleted before/);
    expect(change.notes.join(' ')).toMatch(/protect/);
  });
});

describe('the replace-on-change table', () => {
  it('replaces what the provider cannot update, keeps what it can', () => {
    const nlb = (subnets: string[], securityGroups: string[] = ['sg-1']) =>
      resource('aws:lb/loadBalancer:LoadBalancer', 'voice-lb', { loadBalancerType: 'network', subnets, securityGroups });
    expect(assessChange(nlb(['a', 'b']), nlb(['a', 'b', 'c']))!.action).toBe('update');
    expect(assessChange(nlb(['a', 'b']), nlb(['a', 'c']))!.action).toBe('replace');
    expect(assessChange(nlb(['a'], ['sg-1']), nlb(['a'], []))!.action).toBe('replace');

    const redis = (engine: string) => resource('aws:elasticache/replicationGroup:ReplicationGroup', 'voice-redis', { engine, nodeType: 'cache.t4g.small' });
    expect(assessChange(redis('redis'), redis('valkey'))!.action).toBe('update');
    const downgrade = assessChange(redis('valkey'), redis('redis'))!;
    expect(downgrade.action).toBe('replace');
    expect(downgrade.impact).toMatch(/waiting calls/);

    const association = (instanceId: string) => resource('aws:ec2/eipAssociation:EipAssociation', 'voice-eip', { instanceId, allocationId: 'eipalloc-1' });
    expect(assessChange(association('i-1'), association('i-2'))!.replaceReasons).toEqual(['instanceId (the provider cannot update EipAssociation)']);

    const rule = (source: Record<string, unknown>) => resource('aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule', 'r', { securityGroupId: 'sg-1', ipProtocol: 'tcp', ...source });
    expect(assessChange(rule({ cidrIpv4: '10.0.0.0/16' }), rule({ cidrIpv4: '10.1.0.0/16' }))!.action).toBe('update');
    expect(assessChange(rule({ cidrIpv4: '10.0.0.0/16' }), rule({ referencedSecurityGroupId: 'sg-2' }))!.action).toBe('replace');
  });

  it('says so when it does not know a type, and when an entry was not re-read from source', () => {
    const unknown = assessChange(resource('aws:sqs/queue:Queue', 'q', { delaySeconds: 0 }), resource('aws:sqs/queue:Queue', 'q', { delaySeconds: 5 }))!;
    expect(unknown.action).toBe('update');
    expect(unknown.notes[0]).toMatch(/not in the replace-on-change table/);

    expect(REPLACE_ON_CHANGE['aws:lb/listener:Listener']!.read).toBe(false);
    const listener = (arn: string) => resource('aws:lb/listener:Listener', 'l', { loadBalancerArn: arn, port: 443 });
    expect(assessChange(listener('arn:1'), listener('arn:2'))!.notes.join(' ')).toMatch(/not re-read/);
  });

  it('cites a source for every entry and adds the region rule to AWS types', () => {
    for (const [type, rules] of Object.entries(REPLACE_ON_CHANGE)) expect(rules.source, type).toMatch(/\S+\/\S+/);
    const rules = rulesFor(INSTANCE)!;
    expect(Array.isArray(rules.replaceOn) && rules.replaceOn.some((r) => r.path === 'region')).toBe(true);
    expect(assessChange(singleNode(), singleNode({ region: 'eu-west-1' }))!.action).toBe('replace');
  });
});

describe('changes that follow from a dependency', () => {
  it("a replaced instance takes its EIP association and target group attachment along; an updated launch template rolls its group", () => {
    const assoc = resource('aws:ec2/eipAssociation:EipAssociation', 'voice-livekit', { instanceId: 'i-0123456789abcdef0', allocationId: 'eipalloc-1' });
    const attachment = resource('aws:lb/targetGroupAttachment:TargetGroupAttachment', 'voice-livekit-target-0', { targetId: 'i-0123456789abcdef0', targetGroupArn: 'arn:tg' });
    const template = (userData: string) => resource('aws:ec2/launchTemplate:LaunchTemplate', 'voice-agents', { userData }, { id: 'lt-0abc' });
    const group = resource('aws:autoscaling/group:Group', 'voice-agents', {
      launchTemplate: { id: 'lt-0abc', version: '1' },
      instanceRefresh: { strategy: 'Rolling' },
      minSize: 1,
      maxSize: 3,
    });
    const changes = changedResources([
      [singleNode(), singleNode({ ami: 'ami-0bbbbbbbbbbbbbbbb' })],
      [assoc, assoc],
      [attachment, attachment],
      [template('v1'), template('v2')],
      [group, group],
    ]);
    const byName = (type: string) => changes.find((c) => c.type === type)!;
    expect(byName('aws:ec2/eipAssociation:EipAssociation')).toMatchObject({ action: 'replace', replaceReasons: ['instanceId (voice-livekit is replaced; the provider cannot update EipAssociation)'] });
    expect(byName('aws:lb/targetGroupAttachment:TargetGroupAttachment').action).toBe('replace');
    const rolled = byName('aws:autoscaling/group:Group');
    expect(rolled.action).toBe('update');
    expect(rolled.changes).toEqual([{ path: 'launchTemplate.version', before: '1', after: '(new version)', cause: 'voice-agents gets a new version' }]);
    expect(rolled.effects[0]).toMatch(/instance refresh/);
  });

  it('a launch template whose tags alone change gets no new version: its group does not roll', () => {
    const template = (tier: string) => resource('aws:ec2/launchTemplate:LaunchTemplate', 'voice-agents', { userData: 'x', tags: { tier } }, { id: 'lt-0abc' });
    const group = resource('aws:autoscaling/group:Group', 'voice-agents', { launchTemplate: { id: 'lt-0abc', version: '1' }, instanceRefresh: { strategy: 'Rolling' } });
    const changes = changedResources([
      [template('mid'), template('large')],
      [group, group],
    ]);
    expect(changes.map((c) => c.type)).toEqual(['aws:ec2/launchTemplate:LaunchTemplate']);
  });

  it('a change ignoreChanges drops does not spread', () => {
    const ignoring = { options: { ignoreChanges: ['ami'] } };
    const assoc = resource('aws:ec2/eipAssociation:EipAssociation', 'voice-livekit', { instanceId: 'i-0123456789abcdef0' });
    const changes = changedResources([
      [singleNode({}, ignoring), singleNode({ ami: 'ami-0bbbbbbbbbbbbbbbb' }, ignoring)],
      [assoc, assoc],
    ]);
    expect(changes.map((c) => c.type)).toEqual([INSTANCE]);
  });
});

describe('stacks', () => {
  const small = report('small');
  const mid = report('mid');
  const grown: SavedStackPlan = buildStackReport('mid', { ...configFromStackFile(readFileSync(stackFile('mid'), 'utf8'), 'mid'), monthlyMinutes: 90_000 }).report;

  it('a stack with more minutes shows more workers and a cost delta equal to the difference of the totals', () => {
    const diff = diffPlans([small, mid], [small, grown]);
    const [s, m] = diff.stacks;
    expect(s!.status).toBe('unchanged');
    expect(s!.plan).toEqual([]);
    expect(m!.status).toBe('changed');
    expect(m!.plan.find((p) => p.field === 'agent workers')).toMatchObject({ before: expect.any(String), after: expect.any(String) });
    expect(m!.plan.find((p) => p.field === 'monthly minutes')).toEqual({ field: 'monthly minutes', before: 50_000, after: 90_000 });
    expect(m!.cost.monthlyUsd.delta).toBeCloseTo(grown.cost.monthlyUsd - mid.cost.monthlyUsd, 9);
    expect(m!.cost.monthlyUsd.percent).toBeCloseTo(((grown.cost.monthlyUsd - mid.cost.monthlyUsd) / mid.cost.monthlyUsd) * 100, 9);
    const lineSum = m!.cost.lines.reduce((a, l) => a + l.deltaMonthlyUsd, 0);
    expect(lineSum).toBeCloseTo(m!.cost.monthlyUsd.delta, 6);
    expect(m!.resources).toBeNull(); // reports without resource lists: not compared
    expect(stacksOverIncrease(diff, 1).map((x) => x.stack)).toEqual(['mid']);
    expect(stacksOverIncrease(diff, 1_000)).toEqual([]);
  });

  it('a stack only in head is added, only in base removed; --stacks limits the list', () => {
    const diff = diffPlans([small, mid], [mid, { ...small, stack: 'extra' }]);
    expect(diff.stacks.map((s) => [s.stack, s.status])).toEqual([
      ['mid', 'unchanged'],
      ['extra', 'added'],
      ['small', 'removed'],
    ]);
    const added = diff.stacks[1]!;
    expect(added.cost.monthlyUsd).toMatchObject({ before: null, after: small.cost.monthlyUsd, percent: null });
    expect(added.resources).toBeNull(); // planned without its resource list
    expect(stacksOverIncrease(diff, 0)).toEqual([]); // an added stack has no baseline
    expect(diffPlans([small, mid], [small, mid], ['mid']).stacks.map((s) => s.stack)).toEqual(['mid']);
  });

  it('resources by identity: type, name and parent', () => {
    const a = { ...mid, resources: [singleNode(), resource('aws:ec2/eip:Eip', 'voice-livekit', { domain: 'vpc' }, { id: 'eipalloc-1' })] };
    const b = { ...mid, resources: [singleNode({ ami: 'ami-0bbbbbbbbbbbbbbbb' }), resource('aws:ec2/eip:Eip', 'voice-livekit', { domain: 'vpc' }, { id: 'eipalloc-1', parent: 'other' })] };
    const r = diffPlans([a], [b]).stacks[0]!.resources!;
    expect(r.added.map((x) => [x.name, x.parent])).toEqual([['voice-livekit', 'other']]);
    expect(r.removed.map((x) => [x.name, x.parent, x.impact])).toEqual([['voice-livekit', 'voice', 'its public address is released for good']]);
    expect(r.changed.map((x) => [x.type, x.action])).toEqual([[INSTANCE, 'replace']]);
  });
});
