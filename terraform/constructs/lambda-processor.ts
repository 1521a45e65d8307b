import { CloudwatchLogGroup } from "@cdktn/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchMetricAlarm } from "@cdktn/provider-aws/lib/cloudwatch-metric-alarm";
import { DataAwsCallerIdentity } from "@cdktn/provider-aws/lib/data-aws-caller-identity";
import { EcrRepositoryPolicy } from "@cdktn/provider-aws/lib/ecr-repository-policy";
import { IamRole } from "@cdktn/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktn/provider-aws/lib/iam-role-policy";
import { LambdaEventSourceMapping } from "@cdktn/provider-aws/lib/lambda-event-source-mapping";
import { LambdaFunction } from "@cdktn/provider-aws/lib/lambda-function";
import { Construct } from "constructs";
import type { TableName } from "../config.ts";
import type { TableRef } from "./data.ts";

/** The tables an order's effects touch: the app refuses to start on Lambda without each (src/modules/lambda.ts). */
export const LAMBDA_PROCESSOR_TABLES = [
  "orders",
  "inventory",
  "idempotency",
] as const satisfies readonly TableName[];

export interface LambdaProcessorProps {
  prefix: string;
  region: string;
  /** The image every ECS service runs, `<repository url>:<tag>`; Lambda runs its `lambda` command. */
  imageUri: string;
  repository: { name: string; arn: string };
  queue: { arn: string; url: string; name: string; visibilityTimeoutSeconds: number };
  tables: Pick<Record<TableName, TableRef>, (typeof LAMBDA_PROCESSOR_TABLES)[number]>;
  /** Further settings of the binary (LOG_LEVEL, PAYMENT_SIM_MS …); the construct sets the tables and queue itself. */
  environment: Record<string, string>;
  memoryMb: number;
  timeoutSeconds: number;
  /** LAMBDA_ORDER_RESERVE_MS: an order starts only with this much of the invocation left. */
  orderReserveMs: number;
  /** Orders in flight at once in one sandbox (PROCESSOR_CONCURRENCY); a batch runs at once up to it. */
  ordersPerSandbox: number;
  batchSize: number;
  batchingWindowSeconds: number;
  /** Sandboxes the event source mapping keeps busy at most (its scaling config, 2..1000). */
  maximumConcurrency: number;
  logRetentionDays: number;
  alarms: { topicArn: string; oldestMessageSeconds: number };
}

/** The binary answers this long before the deadline (src/lambda/processor.ts REPLY_MARGIN_MS). */
const REPLY_MARGIN_MS = 500;
const PERIOD_S = 60;

/** Variables Lambda sets itself and refuses in a function's configuration. */
const RESERVED = new Set([
  "_HANDLER",
  "_X_AMZN_TRACE_ID",
  "AWS_DEFAULT_REGION",
  "AWS_REGION",
  "AWS_EXECUTION_ENV",
  "AWS_LAMBDA_FUNCTION_NAME",
  "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
  "AWS_LAMBDA_FUNCTION_VERSION",
  "AWS_LAMBDA_INITIALIZATION_TYPE",
  "AWS_LAMBDA_LOG_GROUP_NAME",
  "AWS_LAMBDA_LOG_STREAM_NAME",
  "AWS_ACCESS_KEY",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_LAMBDA_RUNTIME_API",
  "LAMBDA_TASK_ROOT",
  "LAMBDA_RUNTIME_DIR",
]);

/** Limits AWS enforces at deploy time, and the ones the binary needs to process anything at all. */
export function validateLambdaProcessor(p: LambdaProcessorProps): string[] {
  const problems: string[] = [];
  const within = (name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max)
      problems.push(`${name} must be an integer in ${min}..${max}, got ${value}`);
  };
  within("batchSize", p.batchSize, 1, 10_000);
  within("batchingWindowSeconds", p.batchingWindowSeconds, 0, 300);
  within("maximumConcurrency", p.maximumConcurrency, 2, 1000);
  within("memoryMb", p.memoryMb, 128, 10_240);
  within("timeoutSeconds", p.timeoutSeconds, 1, 900);
  within("ordersPerSandbox", p.ordersPerSandbox, 1, 10_000);
  if (p.batchSize > 10 && p.batchingWindowSeconds < 1) {
    problems.push(
      "a batchSize above 10 needs batchingWindowSeconds of at least 1 (an SQS event source mapping rule)",
    );
  }
  if (p.timeoutSeconds > p.queue.visibilityTimeoutSeconds) {
    problems.push(
      `timeoutSeconds ${p.timeoutSeconds} exceeds the queue's visibility timeout ${p.queue.visibilityTimeoutSeconds}: a message would reappear while its invocation runs (AWS refuses the mapping)`,
    );
  }
  if (p.orderReserveMs > p.timeoutSeconds * 1000 - REPLY_MARGIN_MS) {
    problems.push(
      `orderReserveMs ${p.orderReserveMs} leaves no time to start an order in a ${p.timeoutSeconds} s invocation (the reply goes ${REPLY_MARGIN_MS} ms before the deadline)`,
    );
  }
  const reserved = Object.keys(p.environment).filter((k) => RESERVED.has(k));
  if (reserved.length > 0)
    problems.push(`Lambda sets ${reserved.join(", ")} itself; remove them from environment`);
  return problems;
}

/**
 * The processor role as a Lambda function from the shared ECR image, fed by an SQS event source mapping
 * with partial batch responses. It runs outside any VPC: it talks only to DynamoDB and SQS, both public
 * AWS endpoints, so it needs neither subnets nor a NAT gateway, and a cold start attaches no interface.
 */
export class LambdaProcessor extends Construct {
  readonly functionName: string;
  readonly functionArn: string;
  readonly roleArn: string;
  readonly logGroupName: string;

  constructor(scope: Construct, id: string, props: LambdaProcessorProps) {
    super(scope, id);
    const problems = validateLambdaProcessor(props);
    if (problems.length > 0) throw new Error(`lambda processor:\n  - ${problems.join("\n  - ")}`);
    const name = `${props.prefix}-processor`;
    const account = new DataAwsCallerIdentity(this, "account", {});
    const functionArn = `arn:aws:lambda:${props.region}:${account.accountId}:function:${name}`;

    // Created here, before the function, so Lambda needs no logs:CreateLogGroup and the retention is ours.
    const logs = new CloudwatchLogGroup(this, "logs", {
      name: `/aws/lambda/${name}`,
      retentionInDays: props.logRetentionDays,
    });

    const role = new IamRole(this, "role", {
      name: `${name}-lambda`,
      description: "What the processor on Lambda may do: its tables, its queue, its log group",
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
        ],
      }),
    });
    const policy = new IamRolePolicy(this, "role-policy", {
      name: "processor-access",
      role: role.id,
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "Tables",
            Effect: "Allow",
            // OrderWorker's effects: reads, conditional status transitions, stock moves and the charge ledger.
            Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            Resource: LAMBDA_PROCESSOR_TABLES.map((t) => props.tables[t].arn),
          },
          {
            Sid: "ConsumeOrders",
            Effect: "Allow",
            // Receive/Delete/GetQueueAttributes for the event source mapping; ChangeMessageVisibility for retry times.
            Action: [
              "sqs:ReceiveMessage",
              "sqs:DeleteMessage",
              "sqs:GetQueueAttributes",
              "sqs:ChangeMessageVisibility",
            ],
            Resource: [props.queue.arn],
          },
          {
            Sid: "WriteLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: [`${logs.arn}:log-stream:*`],
          },
        ],
      }),
    });

    // Lambda pulls the image with its own service principal, not the function's role; only this function may.
    const pull = new EcrRepositoryPolicy(this, "image-pull", {
      repository: props.repository.name,
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "LambdaProcessorPull",
            Effect: "Allow",
            Principal: { Service: "lambda.amazonaws.com" },
            Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            Condition: { StringLike: { "aws:sourceArn": functionArn } },
          },
        ],
      }),
    });

    const fn = new LambdaFunction(this, "function", {
      functionName: name,
      description: "shop processor: SQS order batches, the same binary and image as the ECS services",
      role: role.arn,
      packageType: "Image",
      imageUri: props.imageUri,
      // ENTRYPOINT stays /shop; the image's CMD (--role all) is replaced by the custom runtime's command.
      imageConfig: { command: ["lambda", "--role", "processor"] },
      // The binary is built for x86-64 (baseline): the image is linux/amd64.
      architectures: ["x86_64"],
      memorySize: props.memoryMb,
      timeout: props.timeoutSeconds,
      environment: {
        variables: {
          ...props.environment,
          ORDERS_TABLE: props.tables.orders.name,
          INVENTORY_TABLE: props.tables.inventory.name,
          IDEMPOTENCY_TABLE: props.tables.idempotency.name,
          SQS_QUEUE_URL: props.queue.url,
          PROCESSOR_CONCURRENCY: String(props.ordersPerSandbox),
          LAMBDA_ORDER_RESERVE_MS: String(props.orderReserveMs),
        },
      },
      loggingConfig: { logFormat: "Text", logGroup: logs.name },
      dependsOn: [logs, policy, pull],
    });

    new LambdaEventSourceMapping(this, "queue-mapping", {
      eventSourceArn: props.queue.arn,
      functionName: fn.arn,
      batchSize: props.batchSize,
      maximumBatchingWindowInSeconds: props.batchingWindowSeconds,
      functionResponseTypes: ["ReportBatchItemFailures"],
      scalingConfig: { maximumConcurrency: props.maximumConcurrency },
      enabled: true,
      dependsOn: [policy],
    });

    const actions = { alarmActions: [props.alarms.topicArn], okActions: [props.alarms.topicArn] };
    const fnAlarm = (id: string, metricName: string, description: string) =>
      new CloudwatchMetricAlarm(this, id, {
        alarmName: `${name}-lambda-${metricName.toLowerCase()}`,
        alarmDescription: description,
        namespace: "AWS/Lambda",
        metricName,
        dimensions: { FunctionName: fn.functionName },
        statistic: "Sum",
        period: PERIOD_S,
        evaluationPeriods: 1,
        comparisonOperator: "GreaterThanThreshold",
        threshold: 0,
        treatMissingData: "notBreaching",
        ...actions,
      });
    // Item failures are answers, not errors: an error is a crash, a timeout or an event that is not SQS.
    fnAlarm(
      "alarm-errors",
      "Errors",
      "The processor function failed whole invocations: their batches come back",
    );
    fnAlarm(
      "alarm-throttles",
      "Throttles",
      "The processor function was throttled: account or reserved concurrency is below the mapping's maximum",
    );
    new CloudwatchMetricAlarm(this, "alarm-queue-age", {
      alarmName: `${name}-lambda-queue-age`,
      alarmDescription:
        "Orders wait too long: the function is failing, throttled or capped by maximum concurrency",
      namespace: "AWS/SQS",
      metricName: "ApproximateAgeOfOldestMessage",
      dimensions: { QueueName: props.queue.name },
      statistic: "Maximum",
      period: PERIOD_S,
      evaluationPeriods: 3,
      comparisonOperator: "GreaterThanThreshold",
      threshold: props.alarms.oldestMessageSeconds,
      treatMissingData: "notBreaching",
      ...actions,
    });

    this.functionName = fn.functionName;
    this.functionArn = fn.arn;
    this.roleArn = role.arn;
    this.logGroupName = logs.name;
  }
}
