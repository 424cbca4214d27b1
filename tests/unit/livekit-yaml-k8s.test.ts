/** livekit.yaml inputs the Kubernetes target adds: TURN/TLS held by LiveKit, a Redis inside the cluster without TLS. */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { livekitConfig, type LivekitConfigArgs, renderLivekitConfig, TURN_CREDENTIAL_TTL_SECONDS, undocumentedKeys } from '../../components/livekit/index.js';
import { API_KEY, at } from './livekit-fixtures.js';

const base: LivekitConfigArgs = {
  apiKey: API_KEY,
  turnDomain: 'turn.voice.example.com',
  webhookUrls: ['http://queue.voice-agent.svc.cluster.local:8080/webhooks/livekit'],
};
const k8sMultiNode: LivekitConfigArgs = {
  ...base,
  redis: { address: 'redis.voice-agent.svc.cluster.local:6379', tls: false },
  turnTls: { certFile: '/etc/livekit-tls/tls.crt', keyFile: '/etc/livekit-tls/tls.key' },
  secretsFrom: 'its environment, filled from a Kubernetes Secret',
};

describe('livekit.yaml for Kubernetes', () => {
  it('passes the same strict-key check as on AWS', () => {
    const parsed: unknown = parse(renderLivekitConfig(k8sMultiNode));
    expect(parsed).toEqual(livekitConfig(k8sMultiNode));
    expect(undocumentedKeys(parsed)).toEqual([]);
  });

  it('TURN/TLS with the certificate: external_tls off, the mounted certificate and key paths', () => {
    expect(at(parse(renderLivekitConfig(k8sMultiNode)), 'turn')).toEqual({
      enabled: true,
      domain: 'turn.voice.example.com',
      tls_port: 5349,
      udp_port: 3478,
      external_tls: false,
      cert_file: '/etc/livekit-tls/tls.crt',
      key_file: '/etc/livekit-tls/tls.key',
      ttl_seconds: TURN_CREDENTIAL_TTL_SECONDS,
    });
    expect(() => livekitConfig({ ...base, turnTls: { certFile: 'tls.crt', keyFile: '/k' } })).toThrow(/turnTls.certFile must be an absolute path/);
  });

  it('a Redis in the cluster: multi-node without a tls section; the default stays TLS', () => {
    expect(at(parse(renderLivekitConfig(k8sMultiNode)), 'redis')).toEqual({ address: 'redis.voice-agent.svc.cluster.local:6379' });
    expect(at(livekitConfig({ ...base, redis: { address: 'r.example.internal:6379' } }), 'redis.tls')).toEqual({ enabled: true, server_name: 'r.example.internal' });
  });

  it('says where its secrets come from', () => {
    expect(renderLivekitConfig(k8sMultiNode)).toContain('LIVEKIT_KEYS and REDIS_PASSWORD from its environment, filled from a Kubernetes Secret');
  });
});
