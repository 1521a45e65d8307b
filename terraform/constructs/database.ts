import { DbInstance } from "@cdktn/provider-aws/lib/db-instance";
import { DbParameterGroup } from "@cdktn/provider-aws/lib/db-parameter-group";
import { DbSubnetGroup } from "@cdktn/provider-aws/lib/db-subnet-group";
import { SecurityGroup } from "@cdktn/provider-aws/lib/security-group";
import { VpcSecurityGroupIngressRule } from "@cdktn/provider-aws/lib/vpc-security-group-ingress-rule";
import { Construct } from "constructs";

export interface DatabaseProps {
  prefix: string;
  vpcId: string;
  subnetIds: string[];
  instanceClass: string;
  allocatedGb: number;
  maxAllocatedGb: number;
  backupRetentionDays: number;
  multiAz: boolean;
  deletionProtection: boolean;
}

export const POSTGRES_PORT = 5432;
const DB_NAME = "shop";
const DB_USER = "shop";

/**
 * PostgreSQL for the auction archive. RDS generates and keeps the master password in Secrets Manager, so it
 * never appears in code or state; storage is encrypted, the instance is private and TLS is enforced.
 */
export class Database extends Construct {
  readonly securityGroupId: string;
  /** Connection URL without a password; the password reaches the task as PGPASSWORD. */
  readonly url: string;
  /** `valueFrom` for an ECS secret that extracts the password key of the RDS-managed secret. */
  readonly passwordValueFrom: string;
  readonly secretArn: string;
  readonly identifier: string;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const sg = new SecurityGroup(this, "sg", {
      name: `${props.prefix}-postgres`,
      description: "PostgreSQL: reachable from allowed task security groups only",
      vpcId: props.vpcId,
      tags: { Name: `${props.prefix}-postgres` },
    });
    this.securityGroupId = sg.id;
    const subnets = new DbSubnetGroup(this, "subnets", {
      name: `${props.prefix}-postgres`,
      subnetIds: props.subnetIds,
    });
    const params = new DbParameterGroup(this, "params", {
      name: `${props.prefix}-postgres17`,
      family: "postgres17",
      parameter: [{ name: "rds.force_ssl", value: "1" }],
    });
    const db = new DbInstance(this, "postgres", {
      identifier: `${props.prefix}-postgres`,
      engine: "postgres",
      engineVersion: "17",
      instanceClass: props.instanceClass,
      dbName: DB_NAME,
      username: DB_USER,
      manageMasterUserPassword: true,
      port: POSTGRES_PORT,
      storageType: "gp3",
      allocatedStorage: props.allocatedGb,
      maxAllocatedStorage: props.maxAllocatedGb,
      storageEncrypted: true,
      publiclyAccessible: false,
      multiAz: props.multiAz,
      dbSubnetGroupName: subnets.name,
      vpcSecurityGroupIds: [sg.id],
      parameterGroupName: params.name,
      backupRetentionPeriod: props.backupRetentionDays,
      copyTagsToSnapshot: true,
      autoMinorVersionUpgrade: true,
      deletionProtection: props.deletionProtection,
      skipFinalSnapshot: !props.deletionProtection,
      ...(props.deletionProtection ? { finalSnapshotIdentifier: `${props.prefix}-postgres-final` } : {}),
      applyImmediately: !props.deletionProtection,
    });
    const secretArn = db.masterUserSecret.get(0).secretArn;
    this.secretArn = secretArn;
    this.passwordValueFrom = `${secretArn}:password::`;
    this.url = `postgres://${DB_USER}@${db.address}:${POSTGRES_PORT}/${DB_NAME}?sslmode=require`;
    this.identifier = db.identifier;
  }

  allowFrom(name: string, securityGroupId: string): void {
    new VpcSecurityGroupIngressRule(this, `from-${name}`, {
      securityGroupId: this.securityGroupId,
      referencedSecurityGroupId: securityGroupId,
      ipProtocol: "tcp",
      fromPort: POSTGRES_PORT,
      toPort: POSTGRES_PORT,
      description: `PostgreSQL from ${name} tasks`,
    });
  }
}
