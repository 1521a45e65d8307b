import { DbInstance } from "@cdktn/provider-aws/lib/db-instance";
import { DbParameterGroup } from "@cdktn/provider-aws/lib/db-parameter-group";
import { DbSubnetGroup } from "@cdktn/provider-aws/lib/db-subnet-group";
import { SecurityGroup } from "@cdktn/provider-aws/lib/security-group";
import { VpcSecurityGroupIngressRule } from "@cdktn/provider-aws/lib/vpc-security-group-ingress-rule";
import { Construct } from "constructs";

export interface DatabaseProps {
  prefix: string;
  region: string;
  accountId: string;
  /** Path of the RDS CA bundle inside the image (`sslrootcert`). */
  caFile: string;
  engineMajor: number;
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
/** The master user: only the bootstrap task logs in as it. */
export const ADMIN_USER = "shop_admin";
/** The least-privilege role the archiver logs in as, with IAM tokens (created by `shop db-bootstrap`). */
export const APP_USER = "shop_app";
/** The application's tables live here, created by its own migrations. */
export const APP_SCHEMA = "archive";

/**
 * PostgreSQL for the auction archive. RDS generates and keeps (and rotates) the master password in Secrets
 * Manager, so it never appears in code or state; only the bootstrap task reads it. The application logs in
 * as its own role with IAM tokens. Storage is encrypted, the instance is private, TLS is enforced and the
 * client verifies the server against the RDS CAs only, host name included.
 */
export class Database extends Construct {
  readonly securityGroupId: string;
  /** The application's connection: its own role, full verification against the shipped CA bundle. */
  readonly url: string;
  /** The master user's connection, for the bootstrap task only. */
  readonly adminUrl: string;
  /** `valueFrom` for an ECS secret that extracts the password key of the RDS-managed secret. */
  readonly passwordValueFrom: string;
  readonly secretArn: string;
  /** `rds-db:connect` resource for the application role. */
  readonly appUserArn: string;
  /** Changes when the instance is replaced: a new instance needs its roles again. */
  readonly resourceId: string;
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
      name: `${props.prefix}-postgres${props.engineMajor}`,
      family: `postgres${props.engineMajor}`,
      parameter: [{ name: "rds.force_ssl", value: "1" }],
    });
    const db = new DbInstance(this, "postgres", {
      identifier: `${props.prefix}-postgres`,
      engine: "postgres",
      engineVersion: String(props.engineMajor),
      instanceClass: props.instanceClass,
      dbName: DB_NAME,
      username: ADMIN_USER,
      manageMasterUserPassword: true,
      iamDatabaseAuthenticationEnabled: true,
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
    // verify-full: the chain must lead to a CA in sslrootcert (and only those), and the name must match.
    const url = (user: string) =>
      `postgres://${user}@${db.address}:${POSTGRES_PORT}/${DB_NAME}?sslmode=verify-full&sslrootcert=${props.caFile}`;
    this.url = url(APP_USER);
    this.adminUrl = url(ADMIN_USER);
    this.appUserArn = `arn:aws:rds-db:${props.region}:${props.accountId}:dbuser:${db.resourceId}/${APP_USER}`;
    this.resourceId = db.resourceId;
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
