import { CloudwatchLogGroup } from "@cdktn/provider-aws/lib/cloudwatch-log-group";
import { IamRole } from "@cdktn/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktn/provider-aws/lib/iam-role-policy";
import { DataResource, type ITerraformDependable } from "cdktn";
import { Construct } from "constructs";
import { ecsTrustPolicy, executionStatements, policy } from "./iam.ts";
import { allowEgress, hardenedTask, type TaskRef } from "./task.ts";

export interface DbBootstrapProps {
  prefix: string;
  region: string;
  accountId: string;
  vpcId: string;
  subnetIds: string[];
  clusterArn: string;
  image: string;
  architecture: "X86_64" | "ARM64";
  repositoryArn: string;
  retentionDays: number;
  user: string;
  nofile: number;
  database: {
    adminUrl: string;
    passwordValueFrom: string;
    secretArn: string;
    securityGroupId: string;
    port: number;
    resourceId: string;
    appUser: string;
    appSchema: string;
  };
  /** Path from the synthesized stack's directory to the repository root, where scripts/ lives. */
  repositoryRoot: string;
  /** The task pulls its image and writes logs from a private subnet: routes and endpoints first. */
  networkReady: ITerraformDependable[];
}

/**
 * Bump when `shop db-bootstrap` grants something new: the one-off task runs again on the next apply.
 * (It also runs again whenever the instance is replaced.)
 */
export const BOOTSTRAP_REVISION = 1;

/**
 * Creates the application's database role before the archiver first starts: a one-off task of the shared
 * image (`shop db-bootstrap`), the only task that can read the master password, run by Terraform itself
 * (`scripts/deploy/db-bootstrap.ts` starts it and fails the apply unless it exits 0). The archiver's service
 * depends on `ready`, so a fresh environment comes up in one apply, in order.
 */
export class DbBootstrap extends Construct {
  readonly ready: DataResource;
  readonly task: TaskRef;

  constructor(scope: Construct, id: string, props: DbBootstrapProps) {
    super(scope, id);
    const name = "db-bootstrap";
    const logs = new CloudwatchLogGroup(this, "logs", {
      name: `/ecs/${props.prefix}/${name}`,
      retentionInDays: props.retentionDays,
    });
    const assume = ecsTrustPolicy(props.region, props.accountId);
    const execution = new IamRole(this, "execution", {
      name: `${props.prefix}-${name}-execution`,
      description: "What ECS may do to start the database bootstrap (the only reader of the master password)",
      assumeRolePolicy: assume,
    });
    new IamRolePolicy(this, "execution-policy", {
      name: "start-task",
      role: execution.id,
      policy: policy(executionStatements(props.repositoryArn, logs.arn, [props.database.secretArn])),
    });
    // The task calls no AWS API: a role without policies.
    const taskRole = new IamRole(this, "task-role", {
      name: `${props.prefix}-${name}-task`,
      description: "The database bootstrap calls no AWS API",
      assumeRolePolicy: assume,
    });
    this.task = hardenedTask(this, {
      prefix: props.prefix,
      name,
      region: props.region,
      vpcId: props.vpcId,
      image: props.image,
      command: [name, "--user", props.database.appUser, "--iam"],
      cpu: 256,
      memory: 512,
      architecture: props.architecture,
      environment: { DATABASE_URL: props.database.adminUrl, DATABASE_SCHEMA: props.database.appSchema },
      secrets: { PGPASSWORD: props.database.passwordValueFrom },
      taskRoleArn: taskRole.arn,
      executionRoleArn: execution.arn,
      logGroupName: logs.name,
      stopTimeoutSeconds: 10,
      user: props.user,
      nofile: props.nofile,
    });
    allowEgress(this, this.task, "postgres", props.database.securityGroupId, props.database.port);

    this.ready = new DataResource(this, "run", {
      dependsOn: props.networkReady,
      triggersReplace: { database: props.database.resourceId, revision: BOOTSTRAP_REVISION },
      provisioners: [
        {
          type: "local-exec",
          workingDir: props.repositoryRoot,
          command: "bun scripts/deploy/db-bootstrap.ts",
          environment: {
            CLUSTER: props.clusterArn,
            TASK_DEFINITION: this.task.arn,
            SUBNETS: props.subnetIds.join(","),
            SECURITY_GROUP: this.task.securityGroupId,
            AWS_REGION: props.region,
            LOG_GROUP: logs.name,
          },
        },
      ],
    });
  }
}
