import { describe, expect, it } from 'vitest';
import { configFromPulumi, configFromStackFile, parseStackConfig } from '../../components/config.js';
import { cidrProblem, sipSettings } from '../../components/sip/config.js';
import { errorOf } from '../fixtures/config-error.js';

const base = { monthlyMinutes: 20_000 };

describe('sip config section', () => {
  it('is on by default with Twilio, no numbers, individual rooms prefixed "call", no TLS, no outbound trunk', () => {
    const { sip } = parseStackConfig(base);
    expect(sip).toEqual({
      enabled: true,
      provider: 'twilio',
      numbers: [],
      tls: { enabled: false, mediaEncryption: 'require' },
      dispatch: { type: 'individual', roomPrefix: 'call' },
    });
  });

  it('takes a full section as written', () => {
    const { sip } = parseStackConfig({
      ...base,
      sip: {
        provider: 'generic',
        allowedCidrs: ['203.0.113.0/24'],
        mediaCidrs: ['198.51.100.0/24'],
        numbers: ['+15550100001', '+442071234567'],
        tls: { enabled: true, certificateSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:sip-cert-AbCdEf' },
        outbound: { address: 'example.pstn.twilio.com', numbers: ['+15550100001'], transport: 'tls' },
        dispatch: { type: 'callee', roomPrefix: 'support' },
      },
    });
    expect(sip.numbers).toEqual(['+15550100001', '+442071234567']);
    expect(sip.outbound).toEqual({ address: 'example.pstn.twilio.com', numbers: ['+15550100001'], transport: 'tls' });
    expect(sip.tls).toMatchObject({ enabled: true, mediaEncryption: 'require' });
  });

  it.each([
    [{ numbers: ['+1555'] }, 'sip.numbers.0', /E\.164/],
    [{ numbers: ['+1 555 010 0001'] }, 'sip.numbers.0', /no spaces/],
    [{ numbers: ['15550100001'] }, 'sip.numbers.0', /E\.164/],
    [{ numbers: ['+15550100001', '+15550100001'] }, 'sip.numbers.1', /listed twice/],
    [{ provider: 'vonage' }, 'sip.provider', /twilio, telnyx, generic/],
    [{ provider: 'generic' }, 'sip.allowedCidrs', /provider generic needs/],
    [{ provider: 'generic', allowedCidrs: ['0.0.0.0/0'] }, 'sip.allowedCidrs.0', /never to the internet/],
    [{ provider: 'generic', allowedCidrs: ['10.1.2.3/16'] }, 'sip.allowedCidrs.0', /host bits set; the network is 10\.1\.0\.0\/16/],
    [{ provider: 'generic', allowedCidrs: ['300.1.2.0/24'] }, 'sip.allowedCidrs.0', /IPv4 CIDR/],
    [{ allowedCidrs: ['203.0.113.0/24'] }, 'sip.allowedCidrs', /generic only/],
    [{ mediaCidrs: ['0.0.0.0/0'] }, 'sip.mediaCidrs.0', /wider than \/8/],
    [{ tls: { enabled: true } }, 'sip.tls.certificateSecretArn', /needs the certificate/],
    [{ tls: { enabled: true, certificateSecretArn: 'my-cert' } }, 'sip.tls.certificateSecretArn', /Secrets Manager secret ARN/],
    [{ outbound: { address: 'sip:example.pstn.twilio.com', numbers: ['+15550100001'] } }, 'sip.outbound.address', /no "sip:"/],
    [{ outbound: { address: 'example.pstn.twilio.com;transport=tls', numbers: ['+15550100001'] } }, 'sip.outbound.address', /transport/],
    [{ outbound: { address: 'example.pstn.twilio.com', numbers: [] } }, 'sip.outbound.numbers', /at least one/],
    [{ dispatch: { type: 'direct' } }, 'sip.dispatch.type', /one room per call/],
    [{ dispatch: { roomPrefix: 'call_' } }, 'sip.dispatch.roomPrefix', /adds "_"/],
    [{ enabled: 'yes' }, 'sip.enabled', /true or false/],
    [{ trunks: [] }, 'sip.trunks', /allowed here: enabled, provider, allowedCidrs/],
  ])('rejects sip %j naming %s', (sip, key, allowed) => {
    const error = errorOf(() => parseStackConfig({ ...base, sip }));
    expect(error.key).toBe(key);
    expect(error.message).toMatch(allowed);
    expect(error.message.split('\n')).toHaveLength(1);
  });

  it('explains CIDR problems in words', () => {
    expect(cidrProblem('54.172.60.0/30')).toBeUndefined();
    expect(cidrProblem('54.172.60.1/30')).toMatch(/54\.172\.60\.0\/30/);
    expect(cidrProblem('10.0.0.0/7')).toMatch(/wider than \/8/);
    expect(cidrProblem('10.0.0.0')).toMatch(/IPv4 CIDR/);
  });
});

describe('sip credentials', () => {
  const password = 'correct-horse-battery-staple';

  it('records only that Pulumi secrets are set, never their values', () => {
    const config = configFromPulumi({
      'voice-agent-infra:monthlyMinutes': '20000',
      'voice-agent-infra:sip': JSON.stringify({ provider: 'telnyx', outbound: { address: 'sip.telnyx.com', numbers: ['+15550100001'] } }),
      'voice-agent-infra:sipAuthUsername': 'voice-stack',
      'voice-agent-infra:sipAuthPassword': password,
      'voice-agent-infra:sipOutboundUsername': 'voice-out',
      'voice-agent-infra:sipOutboundPassword': password,
    });
    expect(sipSettings(config)).toMatchObject({ inboundAuth: true, outboundAuth: true });
    expect(JSON.stringify(config)).not.toContain(password);
    expect(JSON.stringify(config)).not.toContain('voice-stack');
  });

  it('never echoes a credential in an error', () => {
    const error = errorOf(() => parseStackConfig({ ...base, sipAuthPassword: password }));
    expect(error.key).toBe('sipAuthUsername');
    expect(error.message).toMatch(/needs both sipAuthUsername and sipAuthPassword/);
    const twilio = errorOf(() => parseStackConfig({ ...base, sipAuthUsername: 'u', sipAuthPassword: password }));
    expect(twilio.key).toBe('sipAuthPassword');
    expect(twilio.message).toMatch(/Twilio origination does not answer digest challenges/);
    for (const e of [error, twilio]) expect(e.message).not.toContain(password);
    const empty = errorOf(() => parseStackConfig({ ...base, sipAuthUsername: '' }));
    expect(empty.message).toContain('[secret]');
  });

  it('refuses outbound credentials without an outbound trunk', () => {
    const error = errorOf(() => parseStackConfig({ ...base, sipOutboundUsername: 'u', sipOutboundPassword: password }));
    expect(error.key).toBe('sipOutboundPassword');
    expect(error.message).toMatch(/needs sip\.outbound/);
  });

  it('requires them encrypted in a stack file, where they read as a placeholder', () => {
    const plain = `config:\n  voice-agent-infra:monthlyMinutes: 20000\n  voice-agent-infra:sip:\n    provider: telnyx\n  voice-agent-infra:sipAuthUsername:\n    secure: AAABAA\n  voice-agent-infra:sipAuthPassword: ${password}\n`;
    const error = errorOf(() => configFromStackFile(plain));
    expect(error.key).toBe('sipAuthPassword');
    expect(error.message).toMatch(/must be a Pulumi secret.*pulumi config set --secret voice-agent-infra:sipAuthPassword/);
    expect(error.message).not.toContain(password);
    const encrypted = plain.replace(`sipAuthPassword: ${password}`, 'sipAuthPassword:\n    secure: AAABAB');
    expect(sipSettings(configFromStackFile(encrypted)).inboundAuth).toBe(true);
  });

  it('still refuses secrets for sizing keys', () => {
    expect(() => configFromStackFile('config:\n  voice-agent-infra:monthlyMinutes:\n    secure: AAABAGx\n')).toThrow(/must not be a secret/);
  });
});
