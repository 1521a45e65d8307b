import { ElasticacheReplicationGroup } from "@cdktn/provider-aws/lib/elasticache-replication-group";
import { ElasticacheSubnetGroup } from "@cdktn/provider-aws/lib/elasticache-subnet-group";
import { SecurityGroup } from "@cdktn/provider-aws/lib/security-group";
import { VpcSecurityGroupIngressRule } from "@cdktn/provider-aws/lib/vpc-security-group-ingress-rule";
import { Construct } from "constructs";
import type { GeneratedSecret } from "./secret.ts";

export interface CacheProps {
  prefix: string;
  vpcId: string;
  subnetIds: string[];
  nodeType: string;
  /** Read replicas beside the primary; at least one turns on automatic failover across AZs. */
  replicas: number;
  authToken: GeneratedSecret;
  snapshotRetentionDays: number;
  /** Apply changes now (dev) or in the maintenance window (prod). */
  applyImmediately: boolean;
}

export const REDIS_PORT = 6379;

/**
 * Redis (ElastiCache replication group): TLS in transit, encrypted at rest, AUTH token from Secrets Manager,
 * reachable only from the task security groups that are explicitly allowed.
 */
export class Cache extends Construct {
  readonly securityGroupId: string;
  readonly url: string;
  /** ElastiCache names the group's nodes `<group>-001`, `-002`, …; their metrics are per node. */
  readonly nodeIds: string[];

  constructor(scope: Construct, id: string, props: CacheProps) {
    super(scope, id);
    const sg = new SecurityGroup(this, "sg", {
      name: `${props.prefix}-redis`,
      description: "Redis: reachable from allowed task security groups only",
      vpcId: props.vpcId,
      tags: { Name: `${props.prefix}-redis` },
    });
    this.securityGroupId = sg.id;
    const subnets = new ElasticacheSubnetGroup(this, "subnets", {
      name: `${props.prefix}-redis`,
      subnetIds: props.subnetIds,
    });
    const multiAz = props.replicas > 0;
    const group = new ElasticacheReplicationGroup(this, "redis", {
      replicationGroupId: `${props.prefix}-redis`,
      description: `${props.prefix} product cache, auction book and bid stream`,
      engine: "redis",
      engineVersion: "7.1",
      nodeType: props.nodeType,
      port: REDIS_PORT,
      numCacheClusters: 1 + props.replicas,
      automaticFailoverEnabled: multiAz,
      multiAzEnabled: multiAz,
      subnetGroupName: subnets.name,
      securityGroupIds: [sg.id],
      atRestEncryptionEnabled: "true",
      transitEncryptionEnabled: true,
      // What the secret holds (the tasks' REDIS_PASSWORD), so the two can never drift apart.
      authTokenWo: props.authToken.storedValue(),
      authTokenWoVersion: props.authToken.version,
      authTokenUpdateStrategy: "ROTATE",
      snapshotRetentionLimit: props.snapshotRetentionDays,
      autoMinorVersionUpgrade: "true",
      applyImmediately: props.applyImmediately,
    });
    this.url = `rediss://${group.primaryEndpointAddress}:${REDIS_PORT}`;
    this.nodeIds = Array.from(
      { length: 1 + props.replicas },
      (_, i) => `${props.prefix}-redis-${String(i + 1).padStart(3, "0")}`,
    );
  }

  allowFrom(name: string, securityGroupId: string): void {
    new VpcSecurityGroupIngressRule(this, `from-${name}`, {
      securityGroupId: this.securityGroupId,
      referencedSecurityGroupId: securityGroupId,
      ipProtocol: "tcp",
      fromPort: REDIS_PORT,
      toPort: REDIS_PORT,
      description: `Redis from ${name} tasks`,
    });
  }
}
