/**
 * The mocks answer Kubernetes objects as the provider does where the program depends on it
 * (pulumi-kubernetes provider/pkg/metadata/naming.go, provider/pkg/provider/provider.go Check):
 * autonames `<name>-<8 hex>` with the pulumi.com/autonamed annotation, the default namespace for
 * namespaced kinds, none for cluster-scoped ones, a LoadBalancer Service's address.
 */
import * as k8s from '@pulumi/kubernetes';
import { describe, expect, it } from 'vitest';
import { valueOf } from './helpers.js';

describe('Kubernetes under the mocks', () => {
  it('autonames an unnamed object with an 8-hex suffix and the autonamed annotation, in the default namespace', async () => {
    const cm = new k8s.core.v1.ConfigMap('mock-check-cm', { data: { a: 'b' } });
    const meta = await valueOf(cm.metadata);
    expect(meta.name).toMatch(/^mock-check-cm-[0-9a-f]{8}$/);
    expect(meta.annotations).toEqual({ 'pulumi.com/autonamed': 'true' });
    expect(meta.namespace).toBe('default');
  });

  it('keeps a given name and namespace; a Namespace gets no namespace', async () => {
    const named = new k8s.core.v1.ConfigMap('mock-check-named', { metadata: { name: 'fixed', namespace: 'ns1' } });
    expect(await valueOf(named.metadata)).toMatchObject({ name: 'fixed', namespace: 'ns1' });
    expect((await valueOf(named.metadata)).annotations).toBeUndefined();
    const ns = new k8s.core.v1.Namespace('mock-check-ns', { metadata: { name: 'ns1' } });
    expect((await valueOf(ns.metadata)).namespace).toBeUndefined();
  });

  it('a LoadBalancer Service gets a hostname with the AWS NLB annotation, an IP otherwise; a ClusterIP Service a cluster IP', async () => {
    const ports = [{ port: 443 }];
    const nlb = new k8s.core.v1.Service('mock-check-nlb', { metadata: { annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' } }, spec: { type: 'LoadBalancer', ports } });
    const lb = new k8s.core.v1.Service('mock-check-lb', { spec: { type: 'LoadBalancer', ports } });
    const internal = new k8s.core.v1.Service('mock-check-internal', { spec: { type: 'ClusterIP', ports } });
    expect((await valueOf(nlb.status)).loadBalancer.ingress[0]!.hostname).toMatch(/\.elb\.us-east-1\.amazonaws\.com$/);
    expect((await valueOf(lb.status)).loadBalancer.ingress[0]!.ip).toMatch(/^203\.0\.113\.\d+$/);
    expect(await valueOf(internal.spec.clusterIP)).toMatch(/^10\.96\.\d+\.\d+$/);
  });

  it('keeps a Secret\'s data secret', async () => {
    const secret = new k8s.core.v1.Secret('mock-check-secret', { stringData: { TOKEN: 'x'.repeat(32) } });
    const { isSecret } = await import('@pulumi/pulumi');
    expect(await isSecret(secret.stringData)).toBe(true);
  });
});
