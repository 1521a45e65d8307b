import { CloudwatchLogGroup } from "@cdktn/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchMetricAlarm } from "@cdktn/provider-aws/lib/cloudwatch-metric-alarm";
import { DataAwsCallerIdentity } from "@cdktn/provider-aws/lib/data-aws-caller-identity";
import { EcrRepositoryPolicy } from "@cdktn/provider-aws/lib/ecr-repository-policy";
import { IamRole } from "@cdktn/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktn/provider-aws/lib/iam-role-policy";
import { LambdaEventSourceMapping } from "@cdktn/provider-aws/lib/lambda-event-source-mapping";
import { LambdaFunction } from "@cdktn/provider-aws/lib/lambda-function";
import { Construct } from "constructs";
import type { LambdaSizing } from "../config.ts";
import { policy, type Statement } from "./iam.ts";
import { ANY_IN_A_MINUTE } from "./observability.ts";

/** What the stack decides and the binary must live with; checked before anything is synthesized. */
export interface LambdaLimits {
  sizing: LambdaSizing;
  /** LAMBDA_ORDER_RESERVE_MS: an order starts only with this much of the invocation left. */
  orderReserveMs: number;
  queueVisibilitySeconds: number;
  /** Every variable the function is configured with. */
  environment: Record<string, string>;
}

export interface LambdaProcessorProps extends LambdaLimits {
  prefix: string;
  region: string;
  /**
   * `<repository url>:<tag>` of a single-platform manifest: Lambda refuses the multi-platform image index the
   * ECS services run, so the deploy tags the index's manifest for `architecture` (scripts/deploy/apply.ts).
   */
  imageUri: string;
  architecture: "x86_64" | "arm64";
  repository: { name: string; arn: string };
  queue: { arn: string; name: string };
  /**
   * What the binary may do, derived from the app's needs (iam.ts `appStatements`); the construct adds what the
   * event source mapping and the log group need.
   */
  statements: Statement[];
  logRetentionDays: number;
  alarms: { topicArn: string };
}

/** The binary answers this long before the deadline (src/lambda/processor.ts REPLY_MARGIN_MS). */
export const REPLY_MARGIN_MS = 500;
/** The queue's visibility timeout is at least this many function timeouts (AWS's recommendation). */
export const VISIBILITY_PER_TIMEOUT = 6;

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
export function validateLambdaProcessor(p: LambdaLimits): string[] {
  const problems: string[] = [];
  const s = p.sizing;
  const within = (name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max)
      problems.push(`${name} must be an integer in ${min}..${max}, got ${value}`);
  };
  within("batchSize", s.batchSize, 1, 10_000);
  within("batchingWindowSeconds", s.batchingWindowSeconds, 0, 300);
  within("maximumConcurrency", s.maximumConcurrency, 2, 1000);
  within("memoryMb", s.memoryMb, 128, 10_240);
  within("timeoutSeconds", s.timeoutSeconds, 1, 900);
  if (s.batchSize > 10 && s.batchingWindowSeconds < 1) {
    problems.push(
      "a batchSize above 10 needs batchingWindowSeconds of at least 1 (an SQS event source mapping rule)",
    );
  }
  if (p.queueVisibilitySeconds < VISIBILITY_PER_TIMEOUT * s.timeoutSeconds) {
    problems.push(
      `the queue's visibility timeout ${p.queueVisibilitySeconds} s is below ${VISIBILITY_PER_TIMEOUT} × timeoutSeconds ${s.timeoutSeconds}: a batch would reappear while Lambda still retries it`,
    );
  }
  if (p.orderReserveMs > s.timeoutSeconds * 1000 - REPLY_MARGIN_MS) {
    problems.push(
      `orderReserveMs ${p.orderReserveMs} leaves no time to start an order in a ${s.timeoutSeconds} s invocation (the reply goes ${REPLY_MARGIN_MS} ms before the deadline)`,
    );
  }
  const reserved = Object.keys(p.environment).filter((k) => RESERVED.has(k));
  if (reserved.length > 0)
    problems.push(`Lambda sets ${reserved.join(", ")} itself; remove them from environment`);
  return problems;
}

/** What the event source mapping does with the function's role: it receives and deletes, not the binary. */
const MAPPING_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"];

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
    const access = new IamRolePolicy(this, "role-policy", {
      name: "processor-access",
      role: role.id,
      policy: policy([
        ...props.statements,
        { Sid: "EventSourceMapping", Effect: "Allow", Action: MAPPING_ACTIONS, Resource: [props.queue.arn] },
        {
          Sid: "WriteLogs",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: [`${logs.arn}:log-stream:*`],
        },
      ]),
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
      architectures: [props.architecture],
      memorySize: props.sizing.memoryMb,
      timeout: props.sizing.timeoutSeconds,
      environment: {
        variables: { ...props.environment, LAMBDA_ORDER_RESERVE_MS: String(props.orderReserveMs) },
      },
      loggingConfig: { logFormat: "Text", logGroup: logs.name },
      dependsOn: [logs, access, pull],
    });

    new LambdaEventSourceMapping(this, "queue-mapping", {
      eventSourceArn: props.queue.arn,
      functionName: fn.arn,
      batchSize: props.sizing.batchSize,
      maximumBatchingWindowInSeconds: props.sizing.batchingWindowSeconds,
      functionResponseTypes: ["ReportBatchItemFailures"],
      scalingConfig: { maximumConcurrency: props.sizing.maximumConcurrency },
      enabled: true,
      dependsOn: [access],
    });

    // The queue's age alarm is Observability's, one per queue whoever consumes it; these are the function's.
    const actions = { alarmActions: [props.alarms.topicArn], okActions: [props.alarms.topicArn] };
    const fnAlarm = (id: string, metricName: string, description: string) =>
      new CloudwatchMetricAlarm(this, id, {
        alarmName: `${name}-lambda-${metricName.toLowerCase()}`,
        alarmDescription: description,
        namespace: "AWS/Lambda",
        metricName,
        dimensions: { FunctionName: fn.functionName },
        statistic: "Sum",
        ...ANY_IN_A_MINUTE,
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

    this.functionName = fn.functionName;
    this.functionArn = fn.arn;
    this.roleArn = role.arn;
    this.logGroupName = logs.name;
  }
}
