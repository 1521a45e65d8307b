import { describe, expect, test } from "bun:test";
import { AppautoscalingPolicy } from "@cdktn/provider-aws/lib/appautoscaling-policy";
import { AppautoscalingTarget } from "@cdktn/provider-aws/lib/appautoscaling-target";
import { CloudwatchLogGroup } from "@cdktn/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchMetricAlarm } from "@cdktn/provider-aws/lib/cloudwatch-metric-alarm";
import { DbInstance } from "@cdktn/provider-aws/lib/db-instance";
import { DynamodbTable } from "@cdktn/provider-aws/lib/dynamodb-table";
import { EcrRepository } from "@cdktn/provider-aws/lib/ecr-repository";
import { EcsService } from "@cdktn/provider-aws/lib/ecs-service";
import { EcsTaskDefinition } from "@cdktn/provider-aws/lib/ecs-task-definition";
import { ElasticacheReplicationGroup } from "@cdktn/provider-aws/lib/elasticache-replication-group";
import { Lb } from "@cdktn/provider-aws/lib/lb";
import { LbListener } from "@cdktn/provider-aws/lib/lb-listener";
import { LbTargetGroup } from "@cdktn/provider-aws/lib/lb-target-group";
import { NatGateway } from "@cdktn/provider-aws/lib/nat-gateway";
import { SnsTopic } from "@cdktn/provider-aws/lib/sns-topic";
import { SnsTopicSubscription } from "@cdktn/provider-aws/lib/sns-topic-subscription";
import { SqsQueue } from "@cdktn/provider-aws/lib/sqs-queue";
import {
  APP,
  albIdleTimeoutSeconds,
  ECS_MAX_STOP_TIMEOUT_S,
  environments,
  ROLES,
  type Role,
  roleNeeds,
  TABLES,
} from "../../terraform/config.ts";
import { MAX_RECEIVE_COUNT } from "../../terraform/stack.ts";
import {
  actionsOf,
  container,
  dev,
  envOf,
  type PolicyStatement,
  prod,
  ref,
  resource,
  resources,
  resourcesOf,
  secretsOf,
  synth,
  type Tf,
} from "./helpers.ts";

const d = dev();
const p = prod();
const both = [
  ["dev", d],
  ["prod", p],
] as const;
const needs = roleNeeds(environments.dev);
const WEB: Role[] = ["api", "bidder", "broadcaster"];

const sgRef = (tf: Tf, idPrefix: string) =>
  ref("aws_security_group", resource(tf, "aws_security_group", idPrefix).id, "id");

describe.each(both)("%s: one ECS service per role", (env, s) => {
  test.each([...ROLES])("%s runs the shared image with --role and the health check", (role) => {
    expect(s.json).toHaveResourceWithProperties(EcsService, {
      name: `shop-${env}-${role}`,
      launch_type: "FARGATE",
      deployment_circuit_breaker: { enable: true, rollback: true },
      network_configuration: { assign_public_ip: false },
    });
    expect(s.json).toHaveResourceWithProperties(EcsTaskDefinition, {
      family: `shop-${env}-${role}`,
      network_mode: "awsvpc",
      requires_compatibilities: ["FARGATE"],
    });
    const c = container(s.tf, role);
    expect(c.command).toEqual(["--role", role]);
    expect(c.healthCheck.command).toEqual(["CMD", "/shop", "healthcheck"]);
    const repo = resource(s.tf, "aws_ecr_repository", "ecr_repo").id;
    expect(c.image).toBe(`${ref("aws_ecr_repository", repo, "repository_url")}:\${var.image_tag}`);
    expect(c.readonlyRootFilesystem).toBe(true);
  });

  test("every service sits in private subnets only", () => {
    const privateSubnets = resources(s.tf, "aws_subnet")
      .filter(([id]) => id.startsWith("network_private"))
      .map(([id]) => ref("aws_subnet", id, "id"));
    expect(privateSubnets).toHaveLength(env === "prod" ? 3 : 2);
    for (const [, svc] of resources(s.tf, "aws_ecs_service")) {
      const net = svc.network_configuration as { subnets: string[] };
      expect(net.subnets.sort()).toEqual([...privateSubnets].sort());
    }
  });

  test("no subnet hands out public IPs", () => {
    for (const [, subnet] of resources(s.tf, "aws_subnet"))
      expect(subnet.map_public_ip_on_launch).toBe(false);
  });

  test("drain: SHUTDOWN_DRAIN_MS set, deregistration delay matches it, stopTimeout covers the hard bound", () => {
    const { shutdownDrainMs, shutdownTimeoutMs } = environments[env].app;
    for (const role of ROLES) {
      const c = container(s.tf, role);
      expect(envOf(c).SHUTDOWN_DRAIN_MS).toBe(String(shutdownDrainMs));
      expect(envOf(c).SHUTDOWN_TIMEOUT_MS).toBe(String(shutdownTimeoutMs));
      expect(c.stopTimeout).toBeGreaterThanOrEqual(shutdownTimeoutMs / 1000);
      expect(c.stopTimeout).toBeLessThanOrEqual(ECS_MAX_STOP_TIMEOUT_S);
    }
    for (const [, tg] of resources(s.tf, "aws_lb_target_group")) {
      expect(tg.deregistration_delay).toBe(String(shutdownDrainMs / 1000));
    }
  });
});

describe("ALB routing", () => {
  test("target groups check /ready on the app port, one per web role", () => {
    for (const role of WEB) {
      expect(d.json).toHaveResourceWithProperties(LbTargetGroup, {
        name: `shop-dev-${role}`,
        port: APP.port,
        target_type: "ip",
        health_check: { path: "/ready", matcher: "200" },
      });
    }
    expect(resources(d.tf, "aws_lb_target_group")).toHaveLength(WEB.length);
  });

  test("/api/v1/items* → bidder, /ws/* and /auctions/* → broadcaster, the rest → api", () => {
    const tg = (role: Role) =>
      ref("aws_lb_target_group", resource(d.tf, "aws_lb_target_group", `alb_tg-${role}`).id, "arn");
    const rule = (role: Role) => resource(d.tf, "aws_lb_listener_rule", `alb_rule-${role}`).body;
    expect(rule("bidder")).toMatchObject({
      action: [{ type: "forward", target_group_arn: tg("bidder") }],
      condition: [{ path_pattern: { values: ["/api/v1/items*"] } }],
    });
    expect(rule("broadcaster")).toMatchObject({
      action: [{ type: "forward", target_group_arn: tg("broadcaster") }],
      condition: [{ path_pattern: { values: ["/ws/*", "/auctions/*"] } }],
    });
    expect(d.json).toHaveResourceWithProperties(LbListener, {
      port: 80,
      protocol: "HTTP",
      default_action: [{ type: "forward", target_group_arn: tg("api") }],
    });
  });

  test("idle timeout stays above the WebSocket ping interval", () => {
    const lb = resource(d.tf, "aws_lb", "alb").body;
    expect(lb.idle_timeout as number).toBeGreaterThan(APP.wsPingMs / 1000);
    expect(lb.idle_timeout).toBe(albIdleTimeoutSeconds());
    expect(lb.drop_invalid_header_fields).toBe(true);
  });

  test("without a certificate: HTTP only, and only port 80 open", () => {
    expect(resources(d.tf, "aws_lb_listener")).toHaveLength(1);
    const open = resources(d.tf, "aws_vpc_security_group_ingress_rule").filter(([, r]) => r.cidr_ipv4);
    expect(open.map(([, r]) => r.from_port)).toEqual([80]);
  });

  test("with a certificate: HTTPS on 443 and HTTP redirects to it", () => {
    const arn = "arn:aws:acm:us-west-2:123456789012:certificate/test";
    const s = synth({ ...environments.prod, certificateArn: arn });
    expect(s.json).toHaveResourceWithProperties(LbListener, {
      port: 443,
      protocol: "HTTPS",
      certificate_arn: arn,
    });
    expect(s.json).toHaveResourceWithProperties(LbListener, {
      port: 80,
      protocol: "HTTP",
      default_action: [
        { type: "redirect", redirect: { port: "443", protocol: "HTTPS", status_code: "HTTP_301" } },
      ],
    });
    const open = resources(s.tf, "aws_vpc_security_group_ingress_rule").filter(([, r]) => r.cidr_ipv4);
    expect(open.map(([, r]) => r.from_port).sort()).toEqual([443, 80]);
    expect(s.tf.output.api_url?.value).toStartWith("https://");
    expect(s.tf.output.ws_url?.value).toStartWith("wss://");
  });
});

describe.each(both)("%s: security groups", (_env, s) => {
  const ingress = resources(s.tf, "aws_vpc_security_group_ingress_rule").map(([, r]) => r);
  const alb = sgRef(s.tf, "alb_sg");

  test("only the ALB is open to the internet, and only on 80/443", () => {
    const fromInternet = ingress.filter((r) => r.cidr_ipv4 !== undefined || r.cidr_ipv6 !== undefined);
    expect(fromInternet.length).toBeGreaterThan(0);
    for (const r of fromInternet) {
      expect(r.security_group_id).toBe(alb);
      expect([80, 443]).toContain(r.from_port as number);
      expect(r.to_port).toBe(r.from_port);
    }
    for (const [, sg] of resources(s.tf, "aws_security_group")) expect(sg.ingress).toBeUndefined();
    expect(resource(s.tf, "aws_default_security_group", "network_default-sg").body.ingress).toBeUndefined();
  });

  test("tasks accept only the ALB, only on the app port; workers accept nothing", () => {
    for (const role of ROLES) {
      const into = ingress.filter((r) => r.security_group_id === sgRef(s.tf, `service-${role}_sg`));
      if (WEB.includes(role)) {
        expect(into).toEqual([
          expect.objectContaining({
            referenced_security_group_id: alb,
            from_port: APP.port,
            to_port: APP.port,
          }),
        ]);
      } else {
        expect(into).toEqual([]);
      }
    }
  });

  test("Redis and PostgreSQL accept only the tasks of roles that use them", () => {
    const sources = (target: string) =>
      ingress
        .filter((r) => r.security_group_id === sgRef(s.tf, target))
        .map((r) => r.referenced_security_group_id)
        .sort();
    const tasksOf = (pred: (r: Role) => boolean) =>
      ROLES.filter(pred)
        .map((r) => sgRef(s.tf, `service-${r}_sg`))
        .sort();
    expect(sources("cache_sg")).toEqual(tasksOf((r) => needs[r].redis));
    expect(sources("database_sg")).toEqual(tasksOf((r) => r === "archiver"));
    for (const r of ingress.filter((x) => x.security_group_id === sgRef(s.tf, "cache_sg")))
      expect(r.from_port).toBe(6379);
    for (const r of ingress.filter((x) => x.security_group_id === sgRef(s.tf, "database_sg")))
      expect(r.from_port).toBe(5432);
  });
});

/** Every policy document in the stack: IAM role policies, trust policies and resource policies. */
function policies(tf: Tf): { where: string; statements: PolicyStatement[] }[] {
  const docs: { where: string; doc: unknown }[] = [
    ...resources(tf, "aws_iam_role_policy").map(([id, r]) => ({ where: id, doc: r.policy })),
    ...resources(tf, "aws_iam_role").map(([id, r]) => ({ where: id, doc: r.assume_role_policy })),
    ...resources(tf, "aws_sqs_queue_policy").map(([id, r]) => ({ where: id, doc: r.policy })),
  ];
  return docs.map(({ where, doc }) => ({
    where,
    statements: (JSON.parse(doc as string) as { Statement: PolicyStatement[] }).Statement,
  }));
}

const taskPolicy = (tf: Tf, role: Role) => {
  const found = resources(tf, "aws_iam_role_policy").filter(([id]) =>
    id.startsWith(`iam_task-${role}-policy`),
  );
  return found.length === 0
    ? undefined
    : (JSON.parse(found[0]?.[1].policy as string) as { Statement: PolicyStatement[] }).Statement;
};
const executionPolicy = (tf: Tf, role: Role) =>
  (
    JSON.parse(resource(tf, "aws_iam_role_policy", `iam_execution-${role}-policy`).body.policy as string) as {
      Statement: PolicyStatement[];
    }
  ).Statement;

describe.each(both)("%s: IAM", (_env, s) => {
  const tableArn = (t: string) =>
    ref("aws_dynamodb_table", resource(s.tf, "aws_dynamodb_table", `data_${t}`).id, "arn");
  const topicArn = ref("aws_sns_topic", resource(s.tf, "aws_sns_topic", "messaging_orders-topic").id, "arn");
  const queueArn = ref("aws_sqs_queue", resource(s.tf, "aws_sqs_queue", "messaging_orders-queue").id, "arn");

  test("no policy allows a wildcard action", () => {
    const all = policies(s.tf);
    expect(all.length).toBeGreaterThan(10);
    for (const { where, statements } of all) {
      for (const st of statements.filter((x) => x.Effect === "Allow")) {
        for (const action of actionsOf(st))
          expect({ where, action, wildcard: action.includes("*") }).toMatchObject({ wildcard: false });
      }
    }
  });

  test("a task role and a separate execution role per role", () => {
    for (const role of ROLES) {
      const task = resource(s.tf, "aws_iam_role", `iam_task-${role}`).body;
      const execution = resource(s.tf, "aws_iam_role", `iam_execution-${role}`).body;
      const c = resource(s.tf, "aws_ecs_task_definition", `service-${role}_task`).body;
      expect(c.task_role_arn).toBe(
        ref("aws_iam_role", resource(s.tf, "aws_iam_role", `iam_task-${role}`).id, "arn"),
      );
      expect(c.execution_role_arn).toBe(
        ref("aws_iam_role", resource(s.tf, "aws_iam_role", `iam_execution-${role}`).id, "arn"),
      );
      expect(task.name).not.toBe(execution.name);
    }
  });

  test("api: DynamoDB on its tables and sns:Publish on its topic, nothing else", () => {
    const st = taskPolicy(s.tf, "api") ?? [];
    expect(st.map((x) => x.Sid)).toEqual(["Tables", "PublishOrders"]);
    expect(resourcesOf(st[0] as PolicyStatement).sort()).toEqual(TABLES.map(tableArn).sort());
    expect(actionsOf(st[0] as PolicyStatement)).not.toContain("dynamodb:Scan");
    expect(st[1]).toMatchObject({ Action: ["sns:Publish"], Resource: [topicArn] });
  });

  test("processor: consume its queue and touch only the order tables", () => {
    const st = taskPolicy(s.tf, "processor") ?? [];
    expect(st.map((x) => x.Sid)).toEqual(["Tables", "ConsumeOrders"]);
    expect(resourcesOf(st[0] as PolicyStatement).sort()).toEqual(
      ["orders", "inventory", "carts", "idempotency"].map(tableArn).sort(),
    );
    expect(st[1]).toMatchObject({
      Action: [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
      ],
      Resource: [queueArn],
    });
  });

  test("bidder, broadcaster and archiver call no AWS API", () => {
    for (const role of ["bidder", "broadcaster", "archiver"] as const)
      expect(taskPolicy(s.tf, role)).toBeUndefined();
  });

  test("only the archiver's execution role can read the database password", () => {
    const dbSecret = `\${aws_db_instance.${resource(s.tf, "aws_db_instance", "database_postgres").id}.master_user_secret[0].secret_arn}`;
    for (const role of ROLES) {
      const readable = executionPolicy(s.tf, role)
        .filter((x) => x.Sid === "ReadSecrets")
        .flatMap(resourcesOf);
      expect(readable.includes(dbSecret)).toBe(role === "archiver");
    }
  });

  test("trust policies admit only ECS tasks of this account", () => {
    for (const [, r] of resources(s.tf, "aws_iam_role")) {
      const [st] = (JSON.parse(r.assume_role_policy as string) as { Statement: PolicyStatement[] }).Statement;
      expect(st).toMatchObject({
        Principal: { Service: "ecs-tasks.amazonaws.com" },
        Action: "sts:AssumeRole",
      });
      expect(JSON.stringify(st?.Condition)).toContain("aws:SourceAccount");
    }
  });
});

describe.each(both)("%s: environment and secrets wired from resources", (_env, s) => {
  test("api gets every table, Redis and the topic", () => {
    const e = envOf(container(s.tf, "api"));
    for (const t of TABLES) {
      const id = resource(s.tf, "aws_dynamodb_table", `data_${t}`).id;
      expect(e[`${t.toUpperCase()}_TABLE`]).toBe(ref("aws_dynamodb_table", id, "name"));
    }
    expect(e.REDIS_URL).toMatch(
      /^rediss:\/\/\$\{aws_elasticache_replication_group\.[^}]+\.primary_endpoint_address\}:6379$/,
    );
    expect(e.SNS_TOPIC_ARN).toBe(
      ref("aws_sns_topic", resource(s.tf, "aws_sns_topic", "messaging_orders-topic").id, "arn"),
    );
    expect(e.AWS_REGION).toBe("us-west-2");
    expect(Object.keys(secretsOf(container(s.tf, "api"))).sort()).toEqual(["ADMIN_TOKEN", "REDIS_PASSWORD"]);
  });

  test("processor gets the queue URL and its concurrency", () => {
    const e = envOf(container(s.tf, "processor"));
    expect(e.SQS_QUEUE_URL).toBe(
      ref("aws_sqs_queue", resource(s.tf, "aws_sqs_queue", "messaging_orders-queue").id, "url"),
    );
    expect(e.PAYMENT_SIM_MS).toBe("3000");
    expect(e.PROCESSOR_CONCURRENCY).toMatch(/^\d+$/);
    expect(e.REDIS_URL).toBeUndefined();
    expect(secretsOf(container(s.tf, "processor"))).toEqual({});
  });

  test("archiver gets a password-less DATABASE_URL and PGPASSWORD from the RDS-managed secret", () => {
    const c = container(s.tf, "archiver");
    const db = resource(s.tf, "aws_db_instance", "database_postgres").id;
    expect(envOf(c).DATABASE_URL).toBe(
      `postgres://shop@\${aws_db_instance.${db}.address}:5432/shop?sslmode=require`,
    );
    expect(secretsOf(c).PGPASSWORD).toBe(
      `\${aws_db_instance.${db}.master_user_secret[0].secret_arn}:password::`,
    );
    expect(secretsOf(c).REDIS_PASSWORD).toMatch(
      /^\$\{aws_secretsmanager_secret\.redis-auth-token_secret_[^}]+\.arn\}$/,
    );
  });

  test("bidder and broadcaster get their settings", () => {
    expect(envOf(container(s.tf, "bidder")).BID_STRATEGY).toBe("lua");
    expect(envOf(container(s.tf, "broadcaster")).WS_PING_MS).toBe(String(APP.wsPingMs));
  });

  test("no value is a hand-typed ARN, host or password", () => {
    for (const role of ROLES) {
      const c = container(s.tf, role);
      for (const v of [...c.environment.map((x) => x.value), ...c.secrets.map((x) => x.valueFrom)]) {
        expect(v).not.toMatch(/arn:aws:|amazonaws\.com/);
      }
      for (const x of c.secrets) expect(x.valueFrom).toStartWith("${");
      expect(c.logConfiguration.options["awslogs-group"]).toMatch(/^\$\{aws_cloudwatch_log_group\./);
    }
  });
});

describe.each(both)("%s: encryption and data protection", (env, s) => {
  const isProd = env === "prod";

  test("queues use SSE; the orders topic is encrypted", () => {
    for (const name of [`shop-${env}-orders`, `shop-${env}-orders-dlq`]) {
      expect(s.json).toHaveResourceWithProperties(SqsQueue, { name, sqs_managed_sse_enabled: true });
    }
    for (const [, q] of resources(s.tf, "aws_sqs_queue")) expect(q.sqs_managed_sse_enabled).toBe(true);
    expect(s.json).toHaveResourceWithProperties(SnsTopic, {
      name: `shop-${env}-orders`,
      kms_master_key_id: "alias/aws/sns",
    });
  });

  test("tables: on-demand, point-in-time recovery, encrypted, deletion protection in prod", () => {
    expect(resources(s.tf, "aws_dynamodb_table")).toHaveLength(TABLES.length);
    for (const [, t] of resources(s.tf, "aws_dynamodb_table")) {
      expect(t).toMatchObject({
        billing_mode: "PAY_PER_REQUEST",
        point_in_time_recovery: { enabled: true },
        server_side_encryption: { enabled: true },
        deletion_protection_enabled: isProd,
      });
    }
    expect(s.json).toHaveResourceWithProperties(DynamodbTable, {
      name: `shop-${env}-idempotency`,
      hash_key: "key",
      ttl: { enabled: true, attribute_name: "expires_at" },
    });
    expect(s.json).toHaveResourceWithProperties(DynamodbTable, {
      name: `shop-${env}-carts`,
      attribute: [{ name: "shopping_cart_id", type: "N" }],
    });
  });

  test("Redis: TLS, encrypted at rest, AUTH token written write-only (never in state)", () => {
    expect(s.json).toHaveResourceWithProperties(ElasticacheReplicationGroup, {
      replication_group_id: `shop-${env}-redis`,
      transit_encryption_enabled: true,
    });
    const redis = resource(s.tf, "aws_elasticache_replication_group", "cache_redis").body;
    expect(redis).toMatchObject({
      transit_encryption_enabled: true,
      at_rest_encryption_enabled: "true",
      num_cache_clusters: isProd ? 2 : 1,
      multi_az_enabled: isProd,
      automatic_failover_enabled: isProd,
    });
    expect(redis.auth_token).toBeUndefined();
    expect(redis.auth_token_wo).toMatch(
      /^\$\{ephemeral\.aws_secretsmanager_random_password\.redis-auth-token_random_/,
    );
    for (const [, v] of resources(s.tf, "aws_secretsmanager_secret_version")) {
      expect(v.secret_string).toBeUndefined();
      expect(v.secret_string_wo).toMatch(/^\$\{ephemeral\./);
    }
  });

  test("PostgreSQL: encrypted, private, managed password, backups, deletion protection in prod", () => {
    expect(s.json).toHaveResourceWithProperties(DbInstance, {
      engine: "postgres",
      storage_encrypted: true,
      publicly_accessible: false,
      manage_master_user_password: true,
      multi_az: isProd,
      deletion_protection: isProd,
      skip_final_snapshot: !isProd,
    });
    const db = resource(s.tf, "aws_db_instance", "database_postgres").body;
    expect(db.backup_retention_period as number).toBeGreaterThan(0);
    expect(db.password).toBeUndefined();
  });

  test("the image repository scans and never moves a tag", () => {
    expect(s.json).toHaveResourceWithProperties(EcrRepository, {
      image_tag_mutability: "IMMUTABLE",
      image_scanning_configuration: { scan_on_push: true },
    });
  });
});

describe("messaging", () => {
  const queue = resource(d.tf, "aws_sqs_queue", "messaging_orders-queue").body;
  const dlq = resource(d.tf, "aws_sqs_queue", "messaging_orders-dlq");
  const topic = resource(d.tf, "aws_sns_topic", "messaging_orders-topic");

  test("the queue dead-letters after 5 receives into its DLQ", () => {
    expect(JSON.parse(queue.redrive_policy as string)).toEqual({
      deadLetterTargetArn: ref("aws_sqs_queue", dlq.id, "arn"),
      maxReceiveCount: MAX_RECEIVE_COUNT,
    });
    expect(MAX_RECEIVE_COUNT).toBe(5);
    const allow = resource(d.tf, "aws_sqs_queue_redrive_allow_policy", "messaging_dlq-allow").body;
    expect(allow.queue_url).toBe(ref("aws_sqs_queue", dlq.id, "url"));
  });

  test("visibility timeout covers a payment with retries plus heartbeat margin", () => {
    expect(queue.visibility_timeout_seconds as number).toBeGreaterThan((APP.paymentSimMs / 1000) * 3);
    expect(queue.receive_wait_time_seconds).toBe(20);
  });

  test("the topic delivers raw to the queue, and only the topic may send", () => {
    expect(d.json).toHaveResourceWithProperties(SnsTopicSubscription, {
      protocol: "sqs",
      raw_message_delivery: true,
      topic_arn: ref("aws_sns_topic", topic.id, "arn"),
    });
    const policy = JSON.parse(
      resource(d.tf, "aws_sqs_queue_policy", "messaging_orders-queue-policy").body.policy as string,
    ) as {
      Statement: PolicyStatement[];
    };
    const allows = policy.Statement.filter((x) => x.Effect === "Allow");
    expect(allows).toEqual([
      expect.objectContaining({
        Principal: { Service: "sns.amazonaws.com" },
        Action: "sqs:SendMessage",
        Condition: { ArnEquals: { "aws:SourceArn": ref("aws_sns_topic", topic.id, "arn") } },
      }),
    ]);
  });
});

describe("autoscaling", () => {
  const policy = (role: Role) =>
    resource(d.tf, "aws_appautoscaling_policy", `service-${role}_scaling-policy`).body;
  const config = (role: Role) =>
    policy(role).target_tracking_scaling_policy_configuration as Record<string, unknown>;

  test("api and bidder track ALB requests per target on their own target group", () => {
    const lb = resource(d.tf, "aws_lb", "alb").id;
    for (const role of ["api", "bidder"] as const) {
      const tg = resource(d.tf, "aws_lb_target_group", `alb_tg-${role}`).id;
      expect(config(role).predefined_metric_specification).toEqual({
        predefined_metric_type: "ALBRequestCountPerTarget",
        resource_label: `${ref("aws_lb", lb, "arn_suffix")}/${ref("aws_lb_target_group", tg, "arn_suffix")}`,
      });
    }
  });

  test("processor tracks queue backlog per running task with metric math", () => {
    const spec = config("processor").customized_metric_specification as {
      metrics: Record<string, unknown>[];
    };
    const byId = Object.fromEntries(spec.metrics.map((m) => [m.id, m]));
    const queueName = ref(
      "aws_sqs_queue",
      resource(d.tf, "aws_sqs_queue", "messaging_orders-queue").id,
      "name",
    );
    expect(byId.visible).toMatchObject({
      return_data: false,
      metric_stat: {
        metric: {
          namespace: "AWS/SQS",
          metric_name: "ApproximateNumberOfMessagesVisible",
          dimensions: [{ name: "QueueName", value: queueName }],
        },
      },
    });
    expect(byId.tasks).toMatchObject({ metric_stat: { metric: { metric_name: "RunningTaskCount" } } });
    expect(byId.backlog_per_task).toMatchObject({ expression: "visible / tasks", return_data: true });
    expect(config("processor").target_value as number).toBeGreaterThan(0);
  });

  test("broadcaster tracks CPU; archiver is fixed", () => {
    expect(config("broadcaster").predefined_metric_specification).toEqual({
      predefined_metric_type: "ECSServiceAverageCPUUtilization",
    });
    expect(
      resources(d.tf, "aws_appautoscaling_policy").some(([id]) => id.startsWith("service-archiver")),
    ).toBe(false);
    expect(resources(d.tf, "aws_appautoscaling_target")).toHaveLength(ROLES.length - 1);
  });

  test("scaled services leave desired_count to autoscaling; bounds come from the config", () => {
    for (const role of ROLES) {
      const svc = resource(p.tf, "aws_ecs_service", `service-${role}_service`).body;
      const lifecycle = svc.lifecycle as { ignore_changes?: string[] } | undefined;
      expect(lifecycle?.ignore_changes ?? []).toEqual(role === "archiver" ? [] : ["desired_count"]);
    }
    expect(p.json).toHaveResourceWithProperties(AppautoscalingTarget, {
      min_capacity: environments.prod.roles.api.min,
      max_capacity: environments.prod.roles.api.max,
      scalable_dimension: "ecs:service:DesiredCount",
    });
    expect(p.json).toHaveResourceWithProperties(AppautoscalingPolicy, {
      policy_type: "TargetTrackingScaling",
    });
  });
});

describe("environments differ where they should", () => {
  test("dev: one NAT over 2 AZs; prod: a NAT per AZ over 3", () => {
    expect(resources(d.tf, "aws_nat_gateway")).toHaveLength(1);
    expect(resources(p.tf, "aws_nat_gateway")).toHaveLength(3);
    expect(p.json).toHaveResource(NatGateway);
  });

  test("prod protects the load balancer from deletion", () => {
    expect(p.json).toHaveResourceWithProperties(Lb, { enable_deletion_protection: true });
    expect(d.json).toHaveResourceWithProperties(Lb, { enable_deletion_protection: false });
  });

  test("S3 remote state with locking, one key per environment; DynamoDB locking on request", () => {
    expect(d.tf.terraform.backend).toEqual({
      s3: {
        bucket: "shop-terraform-state",
        key: "shop/dev/terraform.tfstate",
        region: "us-west-2",
        encrypt: true,
        use_lockfile: true,
      },
    });
    const locked = synth({
      ...environments.dev,
      state: { ...environments.dev.state, lock: { kind: "dynamodb", table: "locks" } },
    });
    expect(locked.tf.terraform.backend).toMatchObject({ s3: { dynamodb_table: "locks" } });
    expect(d.tf.terraform.required_version).toBe(">= 1.11.0");
  });
});

describe("observability", () => {
  test("one log group per role with retention", () => {
    for (const role of ROLES) {
      expect(p.json).toHaveResourceWithProperties(CloudwatchLogGroup, {
        name: `/ecs/shop-prod/${role}`,
        retention_in_days: environments.prod.logRetentionDays,
      });
    }
  });

  test("alarms on dead letters, oldest message age and 5xx rate", () => {
    const dlqName = ref("aws_sqs_queue", resource(d.tf, "aws_sqs_queue", "messaging_orders-dlq").id, "name");
    expect(d.json).toHaveResourceWithProperties(CloudwatchMetricAlarm, {
      alarm_name: "shop-dev-orders-dead-letters",
      metric_name: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: dlqName },
      comparison_operator: "GreaterThanThreshold",
      threshold: 0,
    });
    expect(d.json).toHaveResourceWithProperties(CloudwatchMetricAlarm, {
      alarm_name: "shop-dev-orders-oldest-message",
      metric_name: "ApproximateAgeOfOldestMessage",
      threshold: environments.dev.alarms.oldestMessageSeconds,
    });
    const rate = resource(d.tf, "aws_cloudwatch_metric_alarm", "observability_alarm-5xx-rate").body;
    const queries = rate.metric_query as { id: string; expression?: string }[];
    expect(queries.find((q) => q.id === "rate")?.expression).toContain("target5xx");
    expect(rate.threshold).toBe(environments.dev.alarms.errorRatePercent);
    for (const [, a] of resources(d.tf, "aws_cloudwatch_metric_alarm"))
      expect((a.alarm_actions as string[]).length).toBe(1);
  });

  test("the dashboard covers requests, p99, 5xx, queue, dead letters, bids, sockets and archiver lag", () => {
    const body = JSON.parse(
      resource(d.tf, "aws_cloudwatch_dashboard", "observability_dashboard").body.dashboard_body as string,
    ) as {
      widgets: { properties: { title: string; metrics: unknown[] } }[];
    };
    const text = JSON.stringify(body);
    for (const metric of [
      "RequestCount",
      "TargetResponseTime",
      "HTTPCode_Target_5XX_Count",
      "ApproximateNumberOfMessagesVisible",
      "ApproximateAgeOfOldestMessage",
      "BidsAccepted",
      "WebSocketConnections",
      "ArchiverLagMs",
    ]) {
      expect(text).toContain(`"${metric}"`);
    }
    expect(text).toContain('"p99"');
    for (const w of body.widgets) expect(w.properties.metrics.length).toBeGreaterThan(0);
  });
});

describe("outputs", () => {
  test.each(both)("%s exposes URLs, the repository, the cluster and every service name", (_env, s) => {
    const lb = resource(s.tf, "aws_lb", "alb").id;
    expect(s.tf.output.api_url?.value).toBe(`http://${ref("aws_lb", lb, "dns_name")}`);
    expect(s.tf.output.ws_url?.value).toBe(`ws://${ref("aws_lb", lb, "dns_name")}/ws/items`);
    expect(s.tf.output.ecr_repository_url?.value).toMatch(
      /^\$\{aws_ecr_repository\.[^}]+\.repository_url\}$/,
    );
    expect(s.tf.output.cluster_name?.value).toMatch(/^\$\{aws_ecs_cluster\.[^}]+\.name\}$/);
    expect(Object.keys(s.tf.output.service_names?.value as object).sort()).toEqual([...ROLES].sort());
    expect(s.tf.variable.image_tag).toMatchObject({ type: "string" });
  });
});
