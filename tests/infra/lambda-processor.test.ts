/**
 * The processor in "lambda" mode, synthesized through ShopStack as a deploy would (dev and prod with
 * processorMode switched): the function, its mapping, role and alarms in place of the ECS processor service,
 * its grants and environment derived from the app's own `resourcesOf`. The ECS mode is stack.test.ts's;
 * terraform.test.ts validates a lambda-mode stack with the terraform CLI.
 */
import { describe, expect, test } from "bun:test";
import { LambdaEventSourceMapping } from "@cdktn/provider-aws/lib/lambda-event-source-mapping";
import { LambdaFunction } from "@cdktn/provider-aws/lib/lambda-function";
import { REPLY_MARGIN_MS as BINARY_REPLY_MARGIN_MS } from "../../src/lambda/processor.ts";
import { resourcesOf as appResourcesOf, LAMBDA_ROOTS } from "../../src/modules/deps.ts";
import {
  type EnvConfig,
  environments,
  LAMBDA_IMAGE_TAG_SUFFIX,
  lambdaOrderReserveMs,
  queueVisibilitySeconds,
  ROLES,
  validate,
} from "../../terraform/config.ts";
import {
  type LambdaLimits,
  REPLY_MARGIN_MS,
  VISIBILITY_PER_TIMEOUT,
  validateLambdaProcessor,
} from "../../terraform/constructs/lambda-processor.ts";
import {
  actionsOf,
  configured,
  type PolicyStatement,
  ref,
  resource,
  resources,
  resourcesOf,
  synth,
  type Tf,
} from "./helpers.ts";

const lambdaMode = (env: EnvConfig): EnvConfig => configured({ ...env, processorMode: "lambda" });
const dev = synth(lambdaMode(environments.dev));
const prod = synth(lambdaMode(environments.prod));
const fn = (tf: Tf) => resource(tf, "aws_lambda_function", "lambda-processor_function").body;
const variables = (tf: Tf) => (fn(tf).environment as { variables: Record<string, string> }).variables;
const queueRef = (tf: Tf, attribute: string) =>
  ref("aws_sqs_queue", resource(tf, "aws_sqs_queue", "messaging_orders-queue").id, attribute);
const tableRef = (tf: Tf, table: string, attribute: string) =>
  ref("aws_dynamodb_table", resource(tf, "aws_dynamodb_table", `data_${table}`).id, attribute);
const ids = (tf: Tf, type: string) => resources(tf, type).map(([id]) => id);
const policyOf = (tf: Tf, idPrefix: string) =>
  (
    JSON.parse(resource(tf, "aws_iam_role_policy", idPrefix).body.policy as string) as {
      Statement: PolicyStatement[];
    }
  ).Statement;

describe("lambda mode: the processor is a function, not an ECS service", () => {
  test("no ECS processor service, task definition, roles, log group, autoscaling or service alarms", () => {
    for (const type of [
      "aws_ecs_service",
      "aws_ecs_task_definition",
      "aws_iam_role",
      "aws_iam_role_policy",
      "aws_cloudwatch_log_group",
      "aws_appautoscaling_target",
      "aws_appautoscaling_policy",
      "aws_security_group",
    ]) {
      expect({
        type,
        processor: ids(dev.tf, type).filter(
          (id) => /(^|[-_])processor/.test(id) && !id.startsWith("lambda-processor"),
        ),
      }).toEqual({
        type,
        processor: [],
      });
    }
    const alarms = resources(dev.tf, "aws_cloudwatch_metric_alarm").map(([, a]) => a.alarm_name);
    expect(alarms).not.toContain("shop-dev-processor-running-below-desired");
    // The other roles keep their services.
    const services = resources(dev.tf, "aws_ecs_service").map(([, s]) => s.name);
    expect(services.sort()).toEqual(
      ROLES.filter((r) => r !== "processor")
        .map((r) => `shop-dev-${r}`)
        .sort(),
    );
  });

  test("the outputs name the function and list only the ECS services", () => {
    const fnName = ref(
      "aws_lambda_function",
      resource(dev.tf, "aws_lambda_function", "lambda-processor").id,
      "function_name",
    );
    expect(dev.tf.output.processor_function_name?.value).toBe(fnName);
    expect(Object.keys(dev.tf.output.service_names?.value as object).sort()).toEqual([
      "api",
      "archiver",
      "bidder",
      "broadcaster",
    ]);
    expect(Object.keys(dev.tf.output.task_definition_arns?.value as object)).not.toContain("processor");
  });

  test("the ECS modes synthesize no function and no processor_function_name", () => {
    const ecs = synth(configured(environments.dev));
    expect(ids(ecs.tf, "aws_lambda_function")).toEqual([]);
    expect(ecs.tf.output.processor_function_name).toBeUndefined();
  });
});

describe("the function", () => {
  test("runs the deploy's single-platform tag of the shared image with the custom runtime's command", () => {
    const repo = resource(dev.tf, "aws_ecr_repository", "ecr_repo").id;
    expect(dev.json).toHaveResourceWithProperties(LambdaFunction, {
      function_name: "shop-dev-processor",
      package_type: "Image",
      image_uri: `${ref("aws_ecr_repository", repo, "repository_url")}:\${var.image_tag}${LAMBDA_IMAGE_TAG_SUFFIX}`,
      image_config: { command: ["lambda", "--role", "processor"] },
      memory_size: environments.dev.lambda.memoryMb,
      timeout: environments.dev.lambda.timeoutSeconds,
    });
    expect(fn(dev.tf).vpc_config).toBeUndefined();
  });

  test("its architecture is the environment's: dev's Graviton, prod's x86-64", () => {
    expect(fn(dev.tf).architectures).toEqual(["arm64"]);
    expect(fn(prod.tf).architectures).toEqual(["x86_64"]);
  });

  test("an image_tag too long for the suffix is refused at plan", () => {
    const validations = dev.tf.variable.image_tag?.validation as { condition: string }[];
    expect(validations.map((v) => v.condition)).toContain(
      `\${length(var.image_tag) <= ${128 - LAMBDA_IMAGE_TAG_SUFFIX.length}}`,
    );
  });

  test("its environment is the app's needs on Lambda (tables, queue), the log level and the order reserve", () => {
    const needs = appResourcesOf(...LAMBDA_ROOTS.processor);
    const tables = Object.fromEntries(
      needs.tables.map((v) => [v, tableRef(dev.tf, v.replace(/_TABLE$/, "").toLowerCase(), "name")]),
    );
    expect(variables(dev.tf)).toEqual({
      LOG_LEVEL: environments.dev.app.logLevel,
      ...tables,
      SQS_QUEUE_URL: queueRef(dev.tf, "url"),
      PROCESSOR_CONCURRENCY: String(environments.dev.app.processorConcurrency),
      PAYMENT_SIM_MS: "3000",
      PAYMENT_CONCURRENCY: String(environments.dev.app.paymentConcurrency),
      LAMBDA_ORDER_RESERVE_MS: String(lambdaOrderReserveMs()),
    });
    // What Lambda reserves it sets itself (AWS_REGION among them).
    expect(Object.keys(variables(dev.tf))).not.toContain("AWS_REGION");
  });

  test("an SQS event source mapping with partial batch responses, sized from the config", () => {
    const sizing = environments.dev.lambda;
    expect(dev.json).toHaveResourceWithProperties(LambdaEventSourceMapping, {
      event_source_arn: queueRef(dev.tf, "arn"),
      function_response_types: ["ReportBatchItemFailures"],
      batch_size: sizing.batchSize,
      maximum_batching_window_in_seconds: sizing.batchingWindowSeconds,
      scaling_config: { maximum_concurrency: sizing.maximumConcurrency },
      enabled: true,
    });
  });

  test("the queue hides a batch for at least 6 function timeouts", () => {
    const queue = resource(dev.tf, "aws_sqs_queue", "messaging_orders-queue").body;
    expect(queue.visibility_timeout_seconds).toBe(queueVisibilitySeconds(lambdaMode(environments.dev)));
    expect(queue.visibility_timeout_seconds).toBeGreaterThanOrEqual(
      VISIBILITY_PER_TIMEOUT * environments.dev.lambda.timeoutSeconds,
    );
  });
});

describe("its role: the app's needs on Lambda, the mapping's and its log streams, nothing else", () => {
  const statements = policyOf(dev.tf, "lambda-processor_role-policy");
  const logs = ref(
    "aws_cloudwatch_log_group",
    resource(dev.tf, "aws_cloudwatch_log_group", "lambda-processor_logs").id,
    "arn",
  );

  test("trusted by Lambda only; one inline policy, no managed policy", () => {
    const role = resource(dev.tf, "aws_iam_role", "lambda-processor_role");
    expect(fn(dev.tf).role).toBe(ref("aws_iam_role", role.id, "arn"));
    expect(JSON.parse(role.body.assume_role_policy as string).Statement).toEqual([
      { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
    expect(resources(dev.tf, "aws_iam_role_policy_attachment")).toEqual([]);
  });

  test("tables as the app declares them, retry times on the queue; receive and delete for the mapping", () => {
    const tables = appResourcesOf(...LAMBDA_ROOTS.processor).tables.map((v) =>
      tableRef(dev.tf, v.replace(/_TABLE$/, "").toLowerCase(), "arn"),
    );
    expect(statements.map((st) => [st.Sid, [...actionsOf(st)].sort(), resourcesOf(st)])).toEqual([
      [
        "Tables",
        expect.arrayContaining(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]),
        tables,
      ],
      ["RetryOrders", ["sqs:ChangeMessageVisibility"], [queueRef(dev.tf, "arn")]],
      [
        "EventSourceMapping",
        ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
        [queueRef(dev.tf, "arn")],
      ],
      ["WriteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [`${logs}:log-stream:*`]],
    ]);
    // The same table grant as the ECS task roles: one derivation for both.
    const ecs = policyOf(synth(configured(environments.dev)).tf, "iam_task-processor-policy");
    expect(statements[0]?.Action).toEqual(ecs.find((st) => st.Sid === "Tables")?.Action);
    expect(statements.every((st) => st.Effect === "Allow" && !resourcesOf(st).includes("*"))).toBe(true);
    expect(statements.flatMap(actionsOf)).not.toContain("sns:Publish");
  });

  test("only this function's Lambda service principal may pull the image", () => {
    const pull = resource(dev.tf, "aws_ecr_repository_policy", "lambda-processor_image-pull").body;
    expect(pull.repository).toBe("shop-dev");
    const account = Object.keys(dev.tf.data.aws_caller_identity ?? {}).find((id) =>
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
            "aws:sourceArn": `arn:aws:lambda:us-west-2:\${data.aws_caller_identity.${account}.account_id}:function:shop-dev-processor`,
          },
        },
      },
    ]);
  });

  test("logs go to its own log group with the environment's retention", () => {
    const group = resource(dev.tf, "aws_cloudwatch_log_group", "lambda-processor_logs");
    expect(group.body).toMatchObject({
      name: "/aws/lambda/shop-dev-processor",
      retention_in_days: environments.dev.logRetentionDays,
    });
    expect(fn(dev.tf).logging_config).toEqual({
      log_format: "Text",
      log_group: ref("aws_cloudwatch_log_group", group.id, "name"),
    });
  });
});

describe("alarms and dashboard", () => {
  const alarms = resources(dev.tf, "aws_cloudwatch_metric_alarm").map(([, a]) => a);
  const topic = ref("aws_sns_topic", resource(dev.tf, "aws_sns_topic", "observability_alerts").id, "arn");
  const fnName = ref(
    "aws_lambda_function",
    resource(dev.tf, "aws_lambda_function", "lambda-processor").id,
    "function_name",
  );

  test("errors and throttles of the function, to the alerts topic", () => {
    for (const metric of ["Errors", "Throttles"]) {
      expect(
        alarms.filter(
          (a) =>
            a.namespace === "AWS/Lambda" &&
            a.metric_name === metric &&
            (a.dimensions as { FunctionName?: string }).FunctionName === fnName &&
            a.threshold === 0 &&
            (a.alarm_actions as string[]).includes(topic),
        ),
      ).toHaveLength(1);
    }
  });

  test("one queue-age alarm, naming the function's causes", () => {
    const age = alarms.filter((a) => a.metric_name === "ApproximateAgeOfOldestMessage");
    expect(age).toHaveLength(1);
    expect(age[0]).toMatchObject({
      alarm_name: "shop-dev-orders-oldest-message",
      dimensions: { QueueName: queueRef(dev.tf, "name") },
      threshold: environments.dev.alarms.oldestMessageSeconds,
    });
    expect(String(age[0]?.alarm_description)).toContain("function");
  });

  test("the dashboard shows the function", () => {
    const body = resource(dev.tf, "aws_cloudwatch_dashboard", "observability_dashboard").body;
    const widgets = (
      JSON.parse(body.dashboard_body as string) as {
        widgets: { properties: { title: string; metrics: unknown[][] } }[];
      }
    ).widgets;
    const lambda = widgets.find((w) => w.properties.title.startsWith("Processor function"));
    expect(lambda?.properties.metrics.map((m) => [m[0], m[1], m[3]])).toEqual(
      ["Invocations", "Errors", "Throttles", "ConcurrentExecutions", "Duration"].map((metric) => [
        "AWS/Lambda",
        metric,
        fnName,
      ]),
    );
    const tasks = widgets.find((w) => w.properties.title === "Running tasks by role");
    expect(JSON.stringify(tasks)).not.toContain("processor");
  });
});

describe("what AWS or the binary would refuse is refused before synth", () => {
  const limits = (): LambdaLimits => ({
    sizing: { ...environments.dev.lambda },
    orderReserveMs: 5000,
    queueVisibilitySeconds: 180,
    environment: {},
  });

  test("the construct's reply margin is the binary's", () => {
    expect(REPLY_MARGIN_MS).toBe(BINARY_REPLY_MARGIN_MS);
  });

  test("the configured sizing is valid in both environments", () => {
    expect(validateLambdaProcessor(limits())).toEqual([]);
    for (const env of Object.values(environments)) expect(validate(lambdaMode(env))).toEqual([]);
  });

  test.each<[string, (l: LambdaLimits) => void, string]>([
    [
      "a batch above 10 without a batching window",
      (l) => Object.assign(l.sizing, { batchSize: 11, batchingWindowSeconds: 0 }),
      "batchingWindowSeconds of at least 1",
    ],
    [
      "a batch above 10,000",
      (l) => Object.assign(l.sizing, { batchSize: 10_001 }),
      "batchSize must be an integer in 1..10000",
    ],
    [
      "a maximum concurrency of 1",
      (l) => Object.assign(l.sizing, { maximumConcurrency: 1 }),
      "maximumConcurrency must be an integer in 2..1000",
    ],
    ["memory below 128 MB", (l) => Object.assign(l.sizing, { memoryMb: 64 }), "memoryMb"],
    [
      "a visibility below 6 timeouts",
      (l) => Object.assign(l, { queueVisibilitySeconds: 179 }),
      "below 6 × timeoutSeconds",
    ],
    [
      "a reserve that leaves no time to start",
      (l) => Object.assign(l.sizing, { timeoutSeconds: 5 }),
      "leaves no time",
    ],
    [
      "AWS_REGION in the environment",
      (l) => Object.assign(l, { environment: { AWS_REGION: "us-west-2" } }),
      "Lambda sets AWS_REGION itself",
    ],
  ])("%s", (_, change, message) => {
    const l = limits();
    change(l);
    expect(validateLambdaProcessor(l).join("\n")).toContain(message);
  });

  test("validate() names the environment and refuses a timeout too short for one order", () => {
    const env = {
      ...lambdaMode(environments.dev),
      lambda: { ...environments.dev.lambda, timeoutSeconds: 5 },
    };
    expect(validate(env).join("\n")).toContain("dev/lambda: orderReserveMs 5000 leaves no time");
    expect(() => synth(env)).toThrow("leaves no time");
  });

  test("the visibility follows the timeout: 6 × 60 s", () => {
    const env = {
      ...lambdaMode(environments.dev),
      lambda: { ...environments.dev.lambda, timeoutSeconds: 60 },
    };
    expect(queueVisibilitySeconds(env)).toBe(360);
    expect(validate(env)).toEqual([]);
  });
});
