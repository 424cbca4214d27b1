/**
 * Managed Redis for the large tier: an ElastiCache replication group shared by LiveKit (its
 * multi-node message bus) and the queue (BullMQ). TLS in transit, encryption at rest, an AUTH
 * token, a primary and replicas across zones with automatic failover, and `noeviction` (BullMQ
 * loses jobs under any eviction policy). Reachable only from the stack's own security groups.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { REDIS_PORT } from '../livekit/ports.js';
import { named, type Tags } from './common.js';

export type RedisEngine = 'redis' | 'valkey';

/** Engine versions and their parameter group families (ElastiCache, 2026-11). */
export const REDIS_ENGINE_VERSIONS: Readonly<Record<RedisEngine, { version: string; family: string }>> = {
  redis: { version: '7.1', family: 'redis7' },
  valkey: { version: '8.0', family: 'valkey8' },
};

/** Parameters BullMQ needs: never evict a key (a job or a lock). */
export const REDIS_PARAMETERS: ReadonlyArray<{ name: string; value: string }> = [{ name: 'maxmemory-policy', value: 'noeviction' }];

export interface ManagedRedisArgs {
  /** ElastiCache node type from the plan (plan.redis.nodeType), e.g. "cache.t4g.medium". */
  nodeType: string;
  /** Replicas of the primary from the plan (plan.redis.replicas, >= 1 for Multi-AZ failover). */
  replicas: number;
  /** Engine from the plan (plan.redis.engine). */
  engine: RedisEngine;
  /** Subnets of at least two zones. */
  subnetIds: pulumi.Input<string[]>;
  /** The Redis security group (ingress from the stack's groups only). */
  securityGroupId: pulumi.Input<string>;
  /** AUTH token (a Pulumi secret, from StackSecrets). */
  authToken: pulumi.Input<string>;
  /** Days of daily snapshots kept; default 1. */
  snapshotRetentionDays?: number;
  /** Tags on every resource. */
  tags: Tags;
}

/** An ElastiCache replication group with its subnet and parameter groups. */
export class ManagedRedis extends pulumi.ComponentResource {
  public readonly replicationGroup: aws.elasticache.ReplicationGroup;
  /** Primary endpoint host (TLS, port 6379). */
  public readonly primaryEndpoint: pulumi.Output<string>;
  /** "host:port" of the primary, as livekit.yaml's redis.address takes it. */
  public readonly address: pulumi.Output<string>;
  public readonly port: number = REDIS_PORT;

  constructor(name: string, args: ManagedRedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:aws:ManagedRedis', name, {}, opts);
    const { version, family } = REDIS_ENGINE_VERSIONS[args.engine];
    if (args.replicas < 1) throw new Error(`ManagedRedis needs at least 1 replica for Multi-AZ failover (plan.redis.replicas = ${args.replicas})`);

    const subnets = new aws.elasticache.SubnetGroup(
      `${name}-subnets`,
      { description: 'Voice agent Redis subnets', subnetIds: args.subnetIds, tags: named(args.tags, `${name}-subnets`, 'redis') },
      { parent: this },
    );
    const parameters = new aws.elasticache.ParameterGroup(
      `${name}-params`,
      { family, description: 'BullMQ: maxmemory-policy noeviction', parameters: [...REDIS_PARAMETERS], tags: named(args.tags, `${name}-params`, 'redis') },
      { parent: this },
    );
    this.replicationGroup = new aws.elasticache.ReplicationGroup(
      `${name}`,
      {
        description: 'Voice agent Redis: LiveKit bus and call queue',
        engine: args.engine,
        engineVersion: version,
        nodeType: args.nodeType,
        numCacheClusters: 1 + args.replicas,
        port: REDIS_PORT,
        parameterGroupName: parameters.name,
        subnetGroupName: subnets.name,
        securityGroupIds: [args.securityGroupId],
        automaticFailoverEnabled: true,
        multiAzEnabled: true,
        transitEncryptionEnabled: true,
        atRestEncryptionEnabled: true,
        authToken: pulumi.secret(args.authToken),
        // ROTATE keeps the old token valid while clients move to a new one.
        authTokenUpdateStrategy: 'ROTATE',
        snapshotRetentionLimit: args.snapshotRetentionDays ?? 1,
        autoMinorVersionUpgrade: true,
        applyImmediately: false,
        tags: named(args.tags, name, 'redis'),
      },
      { parent: this },
    );
    this.primaryEndpoint = this.replicationGroup.primaryEndpointAddress;
    this.address = pulumi.interpolate`${this.primaryEndpoint}:${REDIS_PORT}`;
    this.registerOutputs({ primaryEndpoint: this.primaryEndpoint, address: this.address });
  }
}
