import { IamRole } from "@cdktn/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktn/provider-aws/lib/iam-role-policy";
import { Construct } from "constructs";
import type { AppNeeds, Role, TableName } from "../config.ts";
import type { TableRef } from "./data.ts";

/** The resources the app's needs are granted on. */
export interface AppResources {
  tables: Record<TableName, TableRef>;
  topicArn: string;
  queueArn: string;
  /** `rds-db:connect` resource of the application's database role (IAM authentication). */
  databaseUserArn: string;
}

/** One ECS service's needs, its log group and the secrets its containers receive. */
export interface IamRoleProps {
  needs: AppNeeds;
  logGroupArn: string;
  /** Only this service's execution role may read them. */
  secretArns: string[];
}

export interface IamProps extends AppResources {
  prefix: string;
  region: string;
  accountId: string;
  repositoryArn: string;
  /** The roles that run as ECS services. */
  roles: Partial<Record<Role, IamRoleProps>>;
  /** Every task runs the ADOT collector sidecar, which writes to X-Ray with the task role. */
  tracing: boolean;
}

/** What the collector sidecar sends to X-Ray (X-Ray has no resource-level permissions for these). */
export const XRAY_STATEMENT: Statement = {
  Sid: "Traces",
  Effect: "Allow",
  Action: [
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
  ],
  Resource: ["*"],
};

export interface Statement {
  Sid: string;
  Effect: "Allow";
  Action: string[];
  Resource: string[];
}

/** Item-level access as the stores use it; no Scan (but of the outbox: SweepOutbox), no table management. */
const DYNAMODB_ITEM_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:BatchGetItem",
  "dynamodb:Query",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:BatchWriteItem",
  "dynamodb:ConditionCheckItem",
  "dynamodb:DescribeTable",
];

const SQS_CONSUMER_ACTIONS = [
  "sqs:ReceiveMessage",
  "sqs:DeleteMessage",
  "sqs:ChangeMessageVisibility",
  "sqs:GetQueueAttributes",
];

/**
 * Two roles per service: the task role is what the binary may do (derived from the role's needs, nothing
 * else), the execution role is what ECS may do on its behalf (pull the image, write its logs, read its
 * secrets). Separate per service, so a bidder task can never read the database password.
 */
export class Iam extends Construct {
  private readonly taskRoles: Partial<Record<Role, string>> = {};
  private readonly executionRoles: Partial<Record<Role, string>> = {};

  constructor(scope: Construct, id: string, props: IamProps) {
    super(scope, id);
    const assume = ecsTrustPolicy(props.region, props.accountId);
    for (const [role, r] of Object.entries(props.roles) as [Role, IamRoleProps][]) {
      const task = new IamRole(this, `task-${role}`, {
        name: `${props.prefix}-${role}-task`,
        description: `What the ${role} role of shop may do`,
        assumeRolePolicy: assume,
      });
      const statements = appStatements(props, r.needs);
      if (statements.length > 0) {
        new IamRolePolicy(this, `task-${role}-policy`, {
          name: `${role}-access`,
          role: task.id,
          policy: policy(statements),
        });
      }
      // Apart from what the app may do: the collector sidecar's writes to X-Ray.
      if (props.tracing) {
        new IamRolePolicy(this, `task-${role}-traces`, {
          name: "traces",
          role: task.id,
          policy: policy([XRAY_STATEMENT]),
        });
      }
      this.taskRoles[role] = task.arn;

      const execution = new IamRole(this, `execution-${role}`, {
        name: `${props.prefix}-${role}-execution`,
        description: `What ECS may do to start the ${role} role`,
        assumeRolePolicy: assume,
      });
      new IamRolePolicy(this, `execution-${role}-policy`, {
        name: "start-task",
        role: execution.id,
        policy: policy(executionStatements(props.repositoryArn, r.logGroupArn, r.secretArns)),
      });
      this.executionRoles[role] = execution.arn;
    }
  }

  taskRoleArn(role: Role): string {
    return roleArn(this.taskRoles, role, "task");
  }

  executionRoleArn(role: Role): string {
    return roleArn(this.executionRoles, role, "execution");
  }
}

function roleArn(arns: Partial<Record<Role, string>>, role: Role, kind: string): string {
  const arn = arns[role];
  if (arn === undefined) throw new Error(`iam: no ${kind} role for ${role}, which runs no ECS service`);
  return arn;
}

/**
 * What a process of the binary may do, derived from what it uses (the app's `resourcesOf`) and nothing
 * else: the ECS task roles and the processor function's role are both built from it.
 */
export function appStatements(props: AppResources, needs: AppNeeds): Statement[] {
  const statements: Statement[] = [];
  if (needs.tables.length > 0) {
    statements.push({
      Sid: "Tables",
      Effect: "Allow",
      Action: DYNAMODB_ITEM_ACTIONS,
      Resource: needs.tables.map((t) => props.tables[t].arn),
    });
  }
  if (needs.tables.includes("outbox")) {
    // The outbox relay's sweep: the table holds only unpublished records, so a Scan of it stays small.
    statements.push({
      Sid: "SweepOutbox",
      Effect: "Allow",
      Action: ["dynamodb:Scan"],
      Resource: [props.tables.outbox.arn],
    });
  }
  if (needs.publishOrders) {
    statements.push({
      Sid: "PublishOrders",
      Effect: "Allow",
      Action: ["sns:Publish"],
      Resource: [props.topicArn],
    });
  }
  if (needs.consumeOrders) {
    statements.push({
      Sid: "ConsumeOrders",
      Effect: "Allow",
      Action: SQS_CONSUMER_ACTIONS,
      Resource: [props.queueArn],
    });
  }
  if (needs.retryOrders) {
    // The Lambda processor sets failed messages' retry times; the event source mapping receives and deletes.
    statements.push({
      Sid: "RetryOrders",
      Effect: "Allow",
      Action: ["sqs:ChangeMessageVisibility"],
      Resource: [props.queueArn],
    });
  }
  if (needs.postgres) {
    // Signs the IAM token the archiver logs in with; only as the application's role, never the master.
    statements.push({
      Sid: "ConnectToDatabase",
      Effect: "Allow",
      Action: ["rds-db:connect"],
      Resource: [props.databaseUserArn],
    });
  }
  return statements;
}

/** An IAM policy document. */
export const policy = (statements: Statement[]) =>
  JSON.stringify({ Version: "2012-10-17", Statement: statements });

/** Only ECS tasks of this account may assume the roles (confused-deputy guard). */
export function ecsTrustPolicy(region: string, accountId: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "ecs-tasks.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: { "aws:SourceAccount": accountId },
          ArnLike: { "aws:SourceArn": `arn:aws:ecs:${region}:${accountId}:*` },
        },
      },
    ],
  });
}

/** What ECS may do to start a task: pull the image, write its own log group, read its own secrets. */
export function executionStatements(
  repositoryArn: string,
  logGroupArn: string,
  secretArns: string[],
): Statement[] {
  const statements: Statement[] = [
    // GetAuthorizationToken is account-wide by design: it supports no resource-level scoping.
    { Sid: "EcrLogin", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: ["*"] },
    {
      Sid: "PullImage",
      Effect: "Allow",
      Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
      Resource: [repositoryArn],
    },
    {
      Sid: "WriteLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: [`${logGroupArn}:log-stream:*`],
    },
  ];
  if (secretArns.length > 0) {
    statements.push({
      Sid: "ReadSecrets",
      Effect: "Allow",
      Action: ["secretsmanager:GetSecretValue"],
      Resource: secretArns,
    });
  }
  return statements;
}
