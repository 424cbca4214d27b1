import { sipOwnerMetadata, sipOwnerOf } from '@voice-agent-infra/common';
import { describe, expect, it } from 'vitest';
import { parseStackConfig } from '../../components/config.js';
import { sipSettings } from '../../components/sip/config.js';
import { sipDeclaration, sipObjectNames, sipUri } from '../../components/sip/declaration.js';
import { PROVIDER_RANGES } from '../../components/sip/providers.js';

const settings = (sip: Record<string, unknown>, extra: Record<string, unknown> = {}) => sipSettings(parseStackConfig({ monthlyMinutes: 20_000, sip, ...extra }));

describe('SIP declaration', () => {
  it('declares the inbound trunk on the provider ranges, a rule on it, and no agent dispatch in queue mode', () => {
    const d = sipDeclaration({ stack: 'mid', sip: settings({ numbers: ['+15550100001'] }) });
    expect(d).toEqual({
      version: 1,
      owner: 'mid',
      inboundTrunk: {
        name: 'voice-agent-mid-inbound',
        numbers: ['+15550100001'],
        allowedAddresses: PROVIDER_RANGES.twilio.signalling.map((r) => r.cidr),
        auth: false,
        mediaEncryption: 'disable',
      },
      dispatchRule: { name: 'voice-agent-mid-calls', type: 'individual', roomPrefix: 'call' },
    });
  });

  it('declares the outbound trunk, auth flags (never values) and SRTP with TLS', () => {
    const d = sipDeclaration({
      stack: 'large',
      sip: settings(
        {
          provider: 'telnyx',
          tls: { enabled: true, certificateSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:sip-AbCdEf', mediaEncryption: 'allow' },
          outbound: { address: 'sip.telnyx.com', numbers: ['+15550100009'], transport: 'tls' },
        },
        { sipAuthUsername: 'in-user', sipAuthPassword: 'in-pass-1234', sipOutboundUsername: 'out-user', sipOutboundPassword: 'out-pass-1234' },
      ),
    });
    expect(d.inboundTrunk).toMatchObject({ auth: true, mediaEncryption: 'allow' });
    expect(d.outboundTrunk).toEqual({ name: 'voice-agent-large-outbound', address: 'sip.telnyx.com', numbers: ['+15550100009'], transport: 'tls', auth: true, mediaEncryption: 'allow' });
    expect(JSON.stringify(d)).not.toMatch(/in-pass|out-pass|in-user|out-user/);
  });

  it('declares nothing but the owner when SIP is off, so the sync removes what the stack made', () => {
    expect(sipDeclaration({ stack: 'small', sip: settings({ enabled: false }) })).toEqual({ version: 1, owner: 'small' });
  });

  it('names the agent in the rule only when asked (outside queue mode)', () => {
    expect(sipDeclaration({ stack: 's', sip: settings({}), ruleAgentName: 'voice-agent' }).dispatchRule?.agentName).toBe('voice-agent');
  });

  it('refuses a declaration SSM cannot hold', () => {
    const numbers = Array.from({ length: 300 }, (_, i) => `+1555${String(1_000_000 + i)}`);
    expect(() => sipDeclaration({ stack: 'big', sip: settings({ numbers }) })).toThrow(/over the 4096 an SSM standard parameter holds/);
  });

  it('marks ownership in metadata and reads it back; other metadata is nobody’s', () => {
    expect(sipOwnerOf(sipOwnerMetadata('mid'))).toBe('mid');
    expect(sipOwnerOf('{"owner":"mid"}')).toBeUndefined();
    expect(sipOwnerOf('hand made')).toBeUndefined();
    expect(sipOwnerOf('')).toBeUndefined();
  });

  it('gives the SIP URI for the trunk and names from the stack', () => {
    expect(sipUri('203.0.113.10', false)).toBe('sip:203.0.113.10:5060');
    expect(sipUri('sip.voice.example.com', true)).toBe('sip:sip.voice.example.com:5061;transport=tls');
    expect(sipObjectNames('mid')).toEqual({ inbound: 'voice-agent-mid-inbound', outbound: 'voice-agent-mid-outbound', rule: 'voice-agent-mid-calls' });
    expect(() => sipObjectNames('my stack')).toThrow(/stack must be/);
  });
});
