/**
 * The Lambda processor construct in a test stack of its own, next to the real constructs it takes its
 * props from (repository, queue, tables, alerts topic). It is not wired into ShopStack yet
 * (docs/lambda.md has the wiring), so the stack tests do not see it.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudwatchMetricAlarm } from "@cdktn/provider-aws/lib/cloudwatch-metric-alarm";
import { LambdaEventSourceMapping } from "@cdktn/provider-aws/lib/lambda-event-source-mapping";
import { LambdaFunction } from "@cdktn/provider-aws/lib/lambda-function";
import { AwsProvider } from "@cdktn/provider-aws/lib/provider";
import { SnsTopic } from "@cdktn/provider-aws/lib/sns-topic";
import { TerraformStack, Testing } from "cdktn";
import { REPLY_MARGIN_MS } from "../../src/lambda/processor.ts";
import { LAMBDA_TABLES } from "../../src/modules/lambda.ts";
import { TARGET_VERSIONS } from "../../terraform/config.ts";
import { Data } from "../../terraform/constructs/data.ts";
import { Ecr } from "../../terraform/constructs/ecr.ts";
import {
  LAMBDA_PROCESSOR_TABLES,
  LambdaProcessor,
  type LambdaProcessorProps,
  validateLambdaProcessor,
} from "../../terraform/constructs/lambda-processor.ts";
import { Messaging } from "../../terraform/constructs/messaging.ts";
import {
  actionsOf,
  type PolicyStatement,
  ref,
  resource,
  resources,
  resourcesOf,
  type Tf,
} from "./helpers.ts";

const VISIBILITY_S = 180;

type Overrides = Partial<
  Omit<LambdaProcessorProps, "prefix" | "region" | "imageUri" | "repository" | "queue" | "tables">
>;

function synthesize(overrides: Overrides = {}): { json: string; tf: Tf } {
  const outdir = mkdtempSync(join(tmpdir(), "shop-lambda-test-"));
  try {
    const app = Testing.app({ outdir, context: { targetVersions: TARGET_VERSIONS } });
    const stack = new TerraformStack(app, "lambda-test");
    new AwsProvider(stack, "aws", { region: "us-west-2" });
    const prefix = "shop-test";
    const ecr = new Ecr(stack, "ecr", { prefix, forceDelete: true, keepImages: 5 });
    const messaging = new Messaging(stack, "messaging", {
      prefix,
      visibilityTimeoutSeconds: VISIBILITY_S,
      maxReceiveCount: 5,
    });
    const data = new Data(stack, "data", { prefix, deletionProtection: false });
    const alerts = new SnsTopic(stack, "alerts", { name: `${prefix}-alerts` });
    new LambdaProcessor(stack, "lambda-processor", {
      prefix,
      region: "us-west-2",
      imageUri: `${ecr.repositoryUrl}:abc123`,
      repository: { name: prefix, arn: ecr.repositoryArn },
      queue: {
        arn: messaging.queueArn,
        url: messaging.queueUrl,
        name: messaging.queueName,
        visibilityTimeoutSeconds: VISIBILITY_S,
      },
      tables: data.tables,
      environment: { LOG_LEVEL: "info", PAYMENT_SIM_MS: "3000" },
      memoryMb: 512,
      timeoutSeconds: 30,
      orderReserveMs: 5000,
      ordersPerSandbox: 100,
      batchSize: 10,
      batchingWindowSeconds: 0,
      maximumConcurrency: 20,
      logRetentionDays: 7,
      alarms: { topicArn: alerts.arn, oldestMessageSeconds: 120 },
      ...overrides,
    });
    const json = Testing.synth(stack, true);
    return { json, tf: JSON.parse(json) as Tf };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const s = synthesize();
const fn = resource(s.tf, "aws_lambda_function", "lambda-processor_function").body;
const queueRef = (attribute: string) =>
  ref("aws_sqs_queue", resource(s.tf, "aws_sqs_queue", "messaging_orders-queue").id, attribute);
const tableArn = (t: string) =>
  ref("aws_dynamodb_table", resource(s.tf, "aws_dynamodb_table", `data_${t}`).id, "arn");

describe("the processor as a Lambda function from the ECR image", () => {
  test("runs the shared image with the custom runtime's command, outside any VPC", () => {
    const repo = resource(s.tf, "aws_ecr_repository", "ecr_repo").id;
    expect(s.json).toHaveResourceWithProperties(LambdaFunction, {
      function_name: "shop-test-processor",
      package_type: "Image",
      image_uri: `${ref("aws_ecr_repository", repo, "repository_url")}:abc123`,
      image_config: { command: ["lambda", "--role", "processor"] },
      architectures: ["x86_64"],
      memory_size: 512,
      timeout: 30,
    });
    expect(fn.vpc_config).toBeUndefined();
  });

  test("its environment names the tables and queue from their constructs, and never a variable Lambda reserves", () => {
    const vars = (fn.environment as { variables: Record<string, string> }).variables;
    expect(vars).toEqual({
      LOG_LEVEL: "info",
      PAYMENT_SIM_MS: "3000",
      ORDERS_TABLE: ref("aws_dynamodb_table", resource(s.tf, "aws_dynamodb_table", "data_orders").id, "name"),
      INVENTORY_TABLE: ref(
        "aws_dynamodb_table",
        resource(s.tf, "aws_dynamodb_table", "data_inventory").id,
        "name",
      ),
      IDEMPOTENCY_TABLE: ref(
        "aws_dynamodb_table",
        resource(s.tf, "aws_dynamodb_table", "data_idempotency").id,
        "name",
      ),
      SQS_QUEUE_URL: queueRef("url"),
      PROCESSOR_CONCURRENCY: "100",
      LAMBDA_ORDER_RESERVE_MS: "5000",
    });
  });

  test("the tables it grants are exactly those the binary requires on Lambda", () => {
    expect(LAMBDA_PROCESSOR_TABLES.map((t) => `${t.toUpperCase()}_TABLE`)).toEqual([...LAMBDA_TABLES]);
  });

  test("an SQS event source mapping with partial batch responses, sized from the props", () => {
    const fnArn = ref(
      "aws_lambda_function",
      resource(s.tf, "aws_lambda_function", "lambda-processor_function").id,
      "arn",
    );
    expect(s.json).toHaveResourceWithProperties(LambdaEventSourceMapping, {
      event_source_arn: queueRef("arn"),
      function_name: fnArn,
      function_response_types: ["ReportBatchItemFailures"],
      batch_size: 10,
      maximum_batching_window_in_seconds: 0,
      scaling_config: { maximum_concurrency: 20 },
      enabled: true,
    });
    const other = synthesize({ batchSize: 100, batchingWindowSeconds: 2, maximumConcurrency: 50 });
    expect(other.json).toHaveResourceWithProperties(LambdaEventSourceMapping, {
      batch_size: 100,
      maximum_batching_window_in_seconds: 2,
      scaling_config: { maximum_concurrency: 50 },
    });
  });

  test("its own role: assumed only by Lambda, allowed only its tables, its queue and its log streams", () => {
    const role = resource(s.tf, "aws_iam_role", "lambda-processor_role");
    expect(fn.role).toBe(ref("aws_iam_role", role.id, "arn"));
    expect(JSON.parse(role.body.assume_role_policy as string)).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
      ],
    });
    const policies = resources(s.tf, "aws_iam_role_policy").filter(([id]) =>
      id.startsWith("lambda-processor"),
    );
    expect(policies.length).toBe(1);
    const statements = (JSON.parse(policies[0]?.[1].policy as string) as { Statement: PolicyStatement[] })
      .Statement;
    const logs = ref(
      "aws_cloudwatch_log_group",
      resource(s.tf, "aws_cloudwatch_log_group", "lambda-processor_logs").id,
      "arn",
    );
    expect(statements.map((st) => [st.Sid, actionsOf(st).sort(), resourcesOf(st)])).toEqual([
      [
        "Tables",
        ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        ["orders", "inventory", "idempotency"].map(tableArn),
      ],
      [
        "ConsumeOrders",
        ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
        [queueRef("arn")],
      ],
      ["WriteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [`${logs}:log-stream:*`]],
    ]);
    expect(statements.every((st) => st.Effect === "Allow" && !resourcesOf(st).includes("*"))).toBe(true);
    // No managed policy widens it.
    expect(resources(s.tf, "aws_iam_role_policy_attachment")).toEqual([]);
  });

  test("only this function's Lambda service principal may pull the image", () => {
    const pull = resource(s.tf, "aws_ecr_repository_policy", "lambda-processor_image-pull").body;
    expect(pull.repository).toBe("shop-test");
    const account = Object.keys(s.tf.data.aws_caller_identity ?? {}).find((id) =>
      id.startsWith("lambda-processor"),
    );
    expect(JSON.parse(pull.policy as string).Statement).toEqual([
      {
        Sid: "LambdaProcessorPull",
        Effect: "Allow",
        Principal: { Service: "lambda.amazonaws.com" },
        Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        Condition: {
          StringLike: {
            "aws:sourceArn": `arn:aws:lambda:us-west-2:\${data.aws_caller_identity.${account}.account_id}:function:shop-test-processor`,
          },
        },
      },
    ]);
  });

  test("logs go to its own log group with the retention from the props", () => {
    const group = resource(s.tf, "aws_cloudwatch_log_group", "lambda-processor_logs");
    expect(group.body).toMatchObject({ name: "/aws/lambda/shop-test-processor", retention_in_days: 7 });
    expect(fn.logging_config).toEqual({
      log_format: "Text",
      log_group: ref("aws_cloudwatch_log_group", group.id, "name"),
    });
  });

  test("alarms on errors, throttles and the age of the oldest message, to the alerts topic", () => {
    const topic = ref("aws_sns_topic", resource(s.tf, "aws_sns_topic", "alerts").id, "arn");
    const fnName = ref(
      "aws_lambda_function",
      resource(s.tf, "aws_lambda_function", "lambda-processor_function").id,
      "function_name",
    );
    for (const metric of ["Errors", "Throttles"]) {
      expect(s.json).toHaveResourceWithProperties(CloudwatchMetricAlarm, {
        namespace: "AWS/Lambda",
        metric_name: metric,
        dimensions: { FunctionName: fnName },
        threshold: 0,
        alarm_actions: [topic],
      });
    }
    expect(s.json).toHaveResourceWithProperties(CloudwatchMetricAlarm, {
      alarm_name: "shop-test-processor-lambda-queue-age",
      namespace: "AWS/SQS",
      metric_name: "ApproximateAgeOfOldestMessage",
      dimensions: { QueueName: queueRef("name") },
      threshold: 120,
      alarm_actions: [topic],
    });
  });
});

describe("props AWS or the binary would refuse are refused at synth", () => {
  const base = (): LambdaProcessorProps => ({
    prefix: "p",
    region: "us-west-2",
    imageUri: "repo:tag",
    repository: { name: "repo", arn: "arn:aws:ecr:us-west-2:1:repository/repo" },
    queue: { arn: "arn:aws:sqs:us-west-2:1:q", url: "https://q", name: "q", visibilityTimeoutSeconds: 180 },
    tables: {
      orders: { name: "o", arn: "arn:o" },
      inventory: { name: "i", arn: "arn:i" },
      idempotency: { name: "d", arn: "arn:d" },
    },
    environment: {},
    memoryMb: 512,
    timeoutSeconds: 30,
    orderReserveMs: 5000,
    ordersPerSandbox: 100,
    batchSize: 10,
    batchingWindowSeconds: 0,
    maximumConcurrency: 10,
    logRetentionDays: 7,
    alarms: { topicArn: "arn:t", oldestMessageSeconds: 60 },
  });

  test("the base props are valid", () => {
    expect(validateLambdaProcessor(base())).toEqual([]);
  });

  test.each<[string, Partial<LambdaProcessorProps>, string]>([
    ["a batch above 10 without a batching window", { batchSize: 11 }, "batchingWindowSeconds of at least 1"],
    [
      "a batch above 10,000",
      { batchSize: 10_001, batchingWindowSeconds: 1 },
      "batchSize must be an integer in 1..10000",
    ],
    [
      "a maximum concurrency of 1",
      { maximumConcurrency: 1 },
      "maximumConcurrency must be an integer in 2..1000",
    ],
    [
      "a timeout above the queue's visibility",
      { timeoutSeconds: 181 },
      "exceeds the queue's visibility timeout",
    ],
    [
      "a reserve that leaves no time to start",
      { timeoutSeconds: 5, orderReserveMs: 5000 - REPLY_MARGIN_MS + 1 },
      "leaves no time",
    ],
    [
      "AWS_REGION in the environment",
      { environment: { AWS_REGION: "us-west-2" } },
      "Lambda sets AWS_REGION itself",
    ],
    ["memory below 128 MB", { memoryMb: 64 }, "memoryMb"],
  ])("%s", (_, change, message) => {
    const problems = validateLambdaProcessor({ ...base(), ...change });
    expect(problems.join("\n")).toContain(message);
    expect(() => synthesize(change as Overrides)).toThrow(message);
  });
});

// Terraform itself loads the test stack against the AWS provider's schema, as terraform.test.ts does for ShopStack.
const terraform = Bun.which("terraform");
const MIRROR = process.env.TF_PLUGIN_DIR ?? "/opt/tf-plugins";

describe.skipIf(!terraform)("terraform validate (terraform CLI present)", () => {
  test("the test stack is valid Terraform", () => {
    const dir = mkdtempSync(join(tmpdir(), "shop-lambda-validate-"));
    try {
      const config = JSON.parse(s.json) as {
        terraform: { required_providers: { aws: { version: string } } };
      };
      const mirrored = Bun.spawnSync(["ls", join(MIRROR, "registry.terraform.io", "hashicorp", "aws")])
        .stdout.toString()
        .trim()
        .split("\n")
        .sort()
        .at(-1);
      if (mirrored) config.terraform.required_providers.aws.version = mirrored;
      writeFileSync(join(dir, "cdk.tf.json"), JSON.stringify(config));
      const tf = (...args: string[]) =>
        Bun.spawnSync([terraform ?? "terraform", `-chdir=${dir}`, ...args, "-no-color"], {
          env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null", TF_IN_AUTOMATION: "1" },
        });
      const init = mirrored
        ? tf("init", "-backend=false", "-input=false", `-plugin-dir=${MIRROR}`)
        : tf("init", "-backend=false", "-input=false");
      expect(init.stderr.toString()).toBe("");
      const validate = JSON.parse(tf("validate", "-json").stdout.toString()) as {
        valid: boolean;
        diagnostics: { severity: string; summary: string; detail?: string }[];
      };
      expect(
        validate.diagnostics.map(({ severity, summary, detail }) => ({ severity, summary, detail })),
      ).toEqual([]);
      expect(validate.valid).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
