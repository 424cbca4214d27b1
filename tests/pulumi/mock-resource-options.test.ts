/**
 * The mocks record the resource options that decide whether a change replaces a resource, as the
 * engine receives them in RegisterResourceRequest (the offline plan's `options` field).
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { waitForRegistrations } from '../../scripts/lib/pulumi-mocks.js';
import { registeredResources } from './helpers.js';

describe('resource options in the offline plan', () => {
  it('records ignoreChanges, replaceOnChanges, deleteBeforeReplace, retainOnDelete and protect when set, nothing when unset', async () => {
    new aws.ec2.Instance(
      'options-node',
      { ami: 'ami-0123456789abcdef0', instanceType: 't3.small' },
      { ignoreChanges: ['ami', 'userData'], replaceOnChanges: ['instanceType'], deleteBeforeReplace: true, retainOnDelete: true, protect: true },
    );
    new aws.ec2.Instance('plain-node', { ami: 'ami-0123456789abcdef0', instanceType: 't3.small' });
    const component = new pulumi.ComponentResource('test:index:Holder', 'holder', {}, { ignoreChanges: ['tags'] });
    new aws.ec2.Eip('child-eip', { domain: 'vpc' }, { parent: component });
    await waitForRegistrations();

    const byName = (name: string) => registeredResources().find((r) => r.name === name)!;
    expect(byName('options-node').options).toEqual({
      ignoreChanges: ['ami', 'userData'],
      replaceOnChanges: ['instanceType'],
      deleteBeforeReplace: true,
      retainOnDelete: true,
      protect: true,
    });
    expect(byName('plain-node').options).toBeUndefined();
    expect(byName('holder').options).toEqual({ ignoreChanges: ['tags'] });
    expect(byName('child-eip').options).toBeUndefined();
  });
});
