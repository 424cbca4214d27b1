/**
 * Names: the TLS certificate of the NLB listeners (an ARN from config, or issued by ACM and
 * DNS-validated in the Route 53 zone) and the records pointing the signalling and TURN names at
 * the NLBs (mid, large) or the node's Elastic IP (small). Without a zone, the stack outputs the
 * records to create by hand.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { named, type Tags } from './common.js';

export interface TlsCertificateArgs {
  /** Signalling name (the certificate's subject). */
  domain: string;
  /** TURN/TLS name (a subject alternative name). */
  turnDomain: string;
  /** An existing ACM certificate ARN from config, or the zone to validate a new one in. */
  source: { kind: 'arn'; arn: string } | { kind: 'dns-validated'; zoneId: string };
  /** Tags on the certificate. */
  tags: Tags;
}

/** The NLB listeners' certificate. */
export class TlsCertificate extends pulumi.ComponentResource {
  /** ARN of a certificate ready for listeners (validated when issued here). */
  public readonly certificateArn: pulumi.Output<string>;

  constructor(name: string, args: TlsCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:aws:TlsCertificate', name, {}, opts);
    if (args.source.kind === 'arn') {
      this.certificateArn = pulumi.output(args.source.arn);
    } else {
      const zoneId = args.source.zoneId;
      const names = [args.domain, args.turnDomain];
      const certificate = new aws.acm.Certificate(
        `${name}`,
        { domainName: args.domain, subjectAlternativeNames: [args.turnDomain], validationMethod: 'DNS', tags: named(args.tags, name, 'dns') },
        { parent: this },
      );
      // One validation record per name; each record takes name, type and value from the same
      // entry, so the order ACM returns them in does not matter.
      const records = names.map((_, i) => {
        const option = certificate.domainValidationOptions.apply((o) => o[i]!);
        return new aws.route53.Record(
          `${name}-validation-${i}`,
          {
            zoneId,
            name: option.resourceRecordName,
            type: option.resourceRecordType,
            records: [option.resourceRecordValue],
            ttl: 300,
            allowOverwrite: true,
          },
          { parent: this },
        );
      });
      const validation = new aws.acm.CertificateValidation(
        `${name}`,
        { certificateArn: certificate.arn, validationRecordFqdns: records.map((r) => r.fqdn) },
        { parent: this },
      );
      this.certificateArn = validation.certificateArn;
    }
    this.registerOutputs({ certificateArn: this.certificateArn });
  }
}

/** A record the stack needs: an alias to an NLB, or an A record to an address. */
export type DnsTarget = { kind: 'alias'; dnsName: pulumi.Input<string>; zoneId: pulumi.Input<string> } | { kind: 'address'; ip: pulumi.Input<string> };

export interface DnsRecordsArgs {
  /** Route 53 zone to write to, or null to only report the records. */
  zoneId: string | null;
  /** Hostname -> where it points. */
  records: ReadonlyArray<{ name: string; target: DnsTarget }>;
}

/** The signalling and TURN records, in the zone when one is configured. */
export class DnsRecords extends pulumi.ComponentResource {
  /** The records as text ("name A 1.2.3.4", "name ALIAS x.elb.amazonaws.com"): what to create by hand without a zone. */
  public readonly summary: pulumi.Output<string[]>;

  constructor(name: string, args: DnsRecordsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:aws:DnsRecords', name, {}, opts);
    for (const [i, record] of args.records.entries()) {
      if (!args.zoneId) continue;
      new aws.route53.Record(
        `${name}-${i}`,
        record.target.kind === 'alias'
          ? {
              zoneId: args.zoneId,
              name: record.name,
              type: 'A',
              aliases: [{ name: record.target.dnsName, zoneId: record.target.zoneId, evaluateTargetHealth: true }],
              allowOverwrite: true,
            }
          : { zoneId: args.zoneId, name: record.name, type: 'A', ttl: 300, records: [record.target.ip], allowOverwrite: true },
        { parent: this },
      );
    }
    this.summary = pulumi.all(
      args.records.map((r) =>
        r.target.kind === 'alias' ? pulumi.interpolate`${r.name} ALIAS ${r.target.dnsName}` : pulumi.interpolate`${r.name} A ${r.target.ip}`,
      ),
    );
    this.registerOutputs({ summary: this.summary });
  }
}
