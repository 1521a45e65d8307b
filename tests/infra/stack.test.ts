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
import { CAPACITY, DEFAULT_NOFILE, nofileLimit, UTILIZATION } from "../../terraform/capacity.ts";
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
import { ALB_LOG_PREFIX } from "../../terraform/constructs/access-logs.ts";
import { APP_USER } from "../../terraform/constructs/database.ts";
import { BOOTSTRAP_REVISION } from "../../terraform/constructs/db-bootstrap.ts";
import { GATEWAY_ENDPOINTS, INTERFACE_ENDPOINTS } from "../../terraform/constructs/network.ts";
import { MANAGED_RULE_GROUPS } from "../../terraform/constructs/waf.ts";
import { DEFAULT_REPOSITORY_ROOT, MAX_RECEIVE_COUNT } from "../../terraform/stack.ts";
import {
  actionsOf,
  configured,
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
  TEST_SETTINGS,
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

  test.each([...ROLES])(
    "%s is hardened: explicit non-root user, no capabilities, explicit nofile",
    (role) => {
      const c = container(s.tf, role);
      expect(c.user).toBe(APP.user);
      expect(c.linuxParameters).toEqual({ capabilities: { drop: ["ALL"] } });
      const nofile =
        role === "broadcaster" ? nofileLimit(CAPACITY.roles.broadcaster.connectionsPerTask) : DEFAULT_NOFILE;
      expect(c.ulimits).toEqual([{ name: "nofile", softLimit: nofile, hardLimit: nofile }]);
    },
  );

  test("architecture and capacity providers follow the environment", () => {
    const { fargate } = environments[env];
    for (const role of ROLES) {
      const task = resource(s.tf, "aws_ecs_task_definition", `service-${role}_task`).body;
      expect(task.runtime_platform).toEqual({
        operating_system_family: "LINUX",
        cpu_architecture: fargate.architecture,
      });
      const svc = resource(s.tf, "aws_ecs_service", `service-${role}_service`).body;
      expect(svc.launch_type).toBeUndefined();
      const providers = (svc.capacity_provider_strategy as { capacity_provider: string }[]).map(
        (x) => x.capacity_provider,
      );
      expect(providers.includes("FARGATE_SPOT")).toBe(fargate.spot.includes(role));
    }
    expect(
      resource(s.tf, "aws_ecs_cluster_capacity_providers", "cluster_capacity").body.capacity_providers,
    ).toEqual(["FARGATE", "FARGATE_SPOT"]);
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
    const open = resources(d.tf, "aws_vpc_security_group_ingress_rule").filter(
      ([, r]) => r.cidr_ipv4 === "0.0.0.0/0",
    );
    expect(open.map(([, r]) => r.from_port)).toEqual([80]);
  });

  test("with a certificate (prod always has one): HTTPS on 443 and HTTP redirects to it", () => {
    const arn = TEST_SETTINGS.SHOP_PROD_CERTIFICATE_ARN;
    const s = p;
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
    const open = resources(s.tf, "aws_vpc_security_group_ingress_rule").filter(
      ([, r]) => r.cidr_ipv4 === "0.0.0.0/0",
    );
    expect(open.map(([, r]) => r.from_port).sort()).toEqual([443, 80]);
    expect(s.tf.output.api_url?.value).toStartWith("https://");
    expect(s.tf.output.ws_url?.value).toStartWith("wss://");
  });
});

describe.each(both)("%s: security groups", (_env, s) => {
  const ingress = resources(s.tf, "aws_vpc_security_group_ingress_rule").map(([, r]) => r);
  const alb = sgRef(s.tf, "alb_sg");

  test("only the ALB is open to the internet, and only on 80/443", () => {
    const fromInternet = ingress.filter(
      (r) =>
        (r.cidr_ipv4 !== undefined && r.cidr_ipv4 !== environments[_env].vpcCidr) ||
        r.cidr_ipv6 !== undefined,
    );
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
    expect(sources("database_sg")).toEqual(
      [...tasksOf((r) => needs[r].postgres), sgRef(s.tf, "db-bootstrap_sg")].sort(),
    );
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

  test("api: DynamoDB on its tables, Scan of the outbox only, sns:Publish on its topic, nothing else", () => {
    const st = taskPolicy(s.tf, "api") ?? [];
    expect(st.map((x) => x.Sid)).toEqual(["Tables", "SweepOutbox", "PublishOrders"]);
    expect(resourcesOf(st[0] as PolicyStatement).sort()).toEqual(TABLES.map(tableArn).sort());
    expect(actionsOf(st[0] as PolicyStatement)).not.toContain("dynamodb:Scan");
    expect(st[1]).toMatchObject({ Action: ["dynamodb:Scan"], Resource: [tableArn("outbox")] });
    expect(st[2]).toMatchObject({ Action: ["sns:Publish"], Resource: [topicArn] });
  });

  test("processor: consume its queue and touch only the order tables, never carts", () => {
    const st = taskPolicy(s.tf, "processor") ?? [];
    expect(st.map((x) => x.Sid)).toEqual(["Tables", "ConsumeOrders"]);
    expect(resourcesOf(st[0] as PolicyStatement).sort()).toEqual(
      ["orders", "inventory", "idempotency"].map(tableArn).sort(),
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

  test("broadcaster calls no AWS API; the bidder settles wins into orders and reads bid history", () => {
    expect(taskPolicy(s.tf, "broadcaster")).toBeUndefined();
    const bidder = taskPolicy(s.tf, "bidder") ?? [];
    // Settlements are accepted orders: the bidder runs the outbox relay too.
    expect(bidder.map((st) => st.Sid).sort()).toEqual([
      "ConnectToDatabase",
      "PublishOrders",
      "SweepOutbox",
      "Tables",
    ]);
    const tables = JSON.stringify(bidder.find((st) => st.Sid === "Tables")?.Resource);
    expect(tables).toContain("data_orders");
    expect(tables).not.toContain("data_carts");
    expect(tables).not.toContain("data_inventory");
  });

  test("archiver: only rds-db:connect, as the application role of this instance", () => {
    const db = resource(s.tf, "aws_db_instance", "database_postgres").id;
    expect(taskPolicy(s.tf, "archiver")).toEqual([
      {
        Sid: "ConnectToDatabase",
        Effect: "Allow",
        Action: ["rds-db:connect"],
        Resource: [
          `arn:aws:rds-db:us-west-2:\${data.aws_caller_identity.account.account_id}:dbuser:\${aws_db_instance.${db}.resource_id}/${APP_USER}`,
        ],
      },
    ]);
  });

  test("no service can read the database master password; only the bootstrap task's execution role", () => {
    const dbSecret = `\${aws_db_instance.${resource(s.tf, "aws_db_instance", "database_postgres").id}.master_user_secret[0].secret_arn}`;
    for (const role of ROLES) {
      const readable = executionPolicy(s.tf, role)
        .filter((x) => x.Sid === "ReadSecrets")
        .flatMap(resourcesOf);
      expect(readable).not.toContain(dbSecret);
    }
    const bootstrap = JSON.parse(
      resource(s.tf, "aws_iam_role_policy", "db-bootstrap_execution-policy").body.policy as string,
    ) as { Statement: PolicyStatement[] };
    expect(bootstrap.Statement.filter((x) => x.Sid === "ReadSecrets").flatMap(resourcesOf)).toEqual([
      dbSecret,
    ]);
  });

  test("trust policies admit only ECS tasks (or flow log delivery) of this account", () => {
    for (const [id, r] of resources(s.tf, "aws_iam_role")) {
      const [st] = (JSON.parse(r.assume_role_policy as string) as { Statement: PolicyStatement[] }).Statement;
      expect(st).toMatchObject({
        Principal: {
          Service: id.startsWith("network_flow-logs")
            ? "vpc-flow-logs.amazonaws.com"
            : "ecs-tasks.amazonaws.com",
        },
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
    expect(Object.keys(secretsOf(container(s.tf, "api"))).sort()).toEqual([
      "ADMIN_TOKEN",
      "API_KEYS",
      "REDIS_PASSWORD",
    ]);
  });

  test("processor gets the queue URL and its concurrency", () => {
    const e = envOf(container(s.tf, "processor"));
    expect(e.SQS_QUEUE_URL).toBe(
      ref("aws_sqs_queue", resource(s.tf, "aws_sqs_queue", "messaging_orders-queue").id, "url"),
    );
    expect(e.PAYMENT_SIM_MS).toBe("3000");
    expect(e.PROCESSOR_CONCURRENCY).toMatch(/^\d+$/);
    expect(e.REDIS_URL).toBeUndefined();
    // Only API_KEYS: its HTTP server (health, metrics) runs with credentials enforced like every deployed process.
    expect(Object.keys(secretsOf(container(s.tf, "processor")))).toEqual(["API_KEYS"]);
  });

  test("archiver: its own role with IAM tokens, verify-full against the shipped CA bundle, no password", () => {
    const c = container(s.tf, "archiver");
    const db = resource(s.tf, "aws_db_instance", "database_postgres").id;
    expect(envOf(c).DATABASE_URL).toBe(
      `postgres://${APP_USER}@\${aws_db_instance.${db}.address}:5432/shop?sslmode=verify-full&sslrootcert=${APP.rdsCaFile}`,
    );
    expect(envOf(c).DATABASE_AUTH).toBe("iam");
    expect(secretsOf(c).PGPASSWORD).toBeUndefined();
    expect(
      resource(s.tf, "aws_db_instance", "database_postgres").body.iam_database_authentication_enabled,
    ).toBe(true);
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
    // The stored secret's value, read back from the version Terraform wrote: never a second random.
    const stored = Object.entries(s.tf.ephemeral.aws_secretsmanager_secret_version ?? {});
    expect(stored).toHaveLength(1);
    const [storedId, storedBody] = stored[0] as [string, Record<string, unknown>];
    expect(redis.auth_token_wo).toBe(
      `\${ephemeral.aws_secretsmanager_secret_version.${storedId}.secret_string}`,
    );
    const written = resource(s.tf, "aws_secretsmanager_secret_version", "redis-auth-token_value").id;
    expect(storedBody.version_id).toBe(ref("aws_secretsmanager_secret_version", written, "version_id"));
    for (const [id, v] of resources(s.tf, "aws_secretsmanager_secret_version")) {
      expect(v.secret_string).toBeUndefined();
      // The API keys' first value is an empty list, operators store the keys: nothing secret to generate.
      if (id === resource(s.tf, "aws_secretsmanager_secret_version", "api-keys_value").id)
        expect(v.secret_string_wo).toBe("[]");
      else expect(v.secret_string_wo).toMatch(/^\$\{ephemeral\./);
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
        bucket: TEST_SETTINGS.SHOP_STATE_BUCKET,
        key: "shop/dev/terraform.tfstate",
        region: "us-west-2",
        encrypt: true,
        use_lockfile: true,
      },
    });
    const locked = synth(
      configured({
        ...environments.dev,
        state: { ...environments.dev.state, lock: { kind: "dynamodb", table: "locks" } },
      }),
    );
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
  test.each(both)(
    "%s exposes URLs, the repository, the cluster and every service and task definition",
    (env, s) => {
      const lb = resource(s.tf, "aws_lb", "alb").id;
      const tls = env === "prod";
      expect(s.tf.output.api_url?.value).toBe(`${tls ? "https" : "http"}://${ref("aws_lb", lb, "dns_name")}`);
      expect(s.tf.output.ws_url?.value).toBe(
        `${tls ? "wss" : "ws"}://${ref("aws_lb", lb, "dns_name")}/ws/items`,
      );
      for (const role of ROLES) {
        const task = resource(s.tf, "aws_ecs_task_definition", `service-${role}_task`).id;
        const arns = (s.tf.output.task_definition_arns?.value ?? {}) as Record<string, string>;
        expect(arns[role]).toBe(ref("aws_ecs_task_definition", task, "arn"));
      }
      expect(s.tf.output.admin_token_secret_arn?.value).toBe(
        ref(
          "aws_secretsmanager_secret",
          resource(s.tf, "aws_secretsmanager_secret", "admin-token_secret").id,
          "arn",
        ),
      );
      expect(s.tf.output.ecr_repository_url?.value).toMatch(
        /^\$\{aws_ecr_repository\.[^}]+\.repository_url\}$/,
      );
      expect(s.tf.output.cluster_name?.value).toMatch(/^\$\{aws_ecs_cluster\.[^}]+\.name\}$/);
      expect(Object.keys(s.tf.output.service_names?.value as object).sort()).toEqual([...ROLES].sort());
      expect(s.tf.variable.image_tag).toMatchObject({ type: "string" });
    },
  );
});

describe.each(both)("%s: private paths to AWS APIs", (env, s) => {
  const endpoints = resources(s.tf, "aws_vpc_endpoint").map(([, e]) => e);
  const privateRts = resources(s.tf, "aws_route_table")
    .filter(([id]) => id.startsWith("network_private-rt"))
    .map(([id]) => ref("aws_route_table", id, "id"));

  test("gateway endpoints for S3 and DynamoDB on every private route table", () => {
    for (const name of GATEWAY_ENDPOINTS) {
      const e = endpoints.find((x) => x.service_name === `com.amazonaws.us-west-2.${name}`);
      expect(e).toMatchObject({ vpc_endpoint_type: "Gateway" });
      expect(((e?.route_table_ids ?? []) as string[]).sort()).toEqual([...privateRts].sort());
    }
  });

  test("interface endpoints for ECR, logs, Secrets Manager and SQS where configured", () => {
    const iface = endpoints.filter((e) => e.vpc_endpoint_type === "Interface");
    const want = environments[env].interfaceEndpoints
      ? INTERFACE_ENDPOINTS.map((n) => `com.amazonaws.us-west-2.${n}`)
      : [];
    expect(iface.map((e) => e.service_name).sort()).toEqual([...want].sort());
    for (const e of iface) expect(e.private_dns_enabled).toBe(true);
  });
});

describe("prod edge: access logs, flow logs, WAF", () => {
  test("the ALB writes access logs to a private, TLS-only bucket the region's ELB account may write", () => {
    const bucket = resource(p.tf, "aws_s3_bucket", "access-logs_bucket").id;
    expect(resource(p.tf, "aws_lb", "alb").body.access_logs).toEqual({
      bucket: ref("aws_s3_bucket", bucket, "bucket"),
      prefix: ALB_LOG_PREFIX,
      enabled: true,
    });
    expect(resource(p.tf, "aws_s3_bucket_public_access_block", "access-logs_private").body).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    const policy = JSON.parse(
      resource(p.tf, "aws_s3_bucket_policy", "access-logs_policy").body.policy as string,
    ) as {
      Statement: PolicyStatement[];
    };
    expect(policy.Statement.map((x) => [x.Sid, x.Effect])).toEqual([
      ["AlbLogDelivery", "Allow"],
      ["TlsOnly", "Deny"],
    ]);
    expect(JSON.stringify(policy.Statement[0]?.Principal)).toContain("data.aws_elb_service_account");
    expect(resources(d.tf, "aws_s3_bucket")).toHaveLength(0);
  });

  test("VPC flow logs go to their own log group through a delivery role", () => {
    expect(resource(p.tf, "aws_flow_log", "network_flow-log").body).toMatchObject({
      traffic_type: "ALL",
      log_destination_type: "cloud-watch-logs",
    });
    expect(resources(d.tf, "aws_flow_log")).toHaveLength(0);
  });

  test("WAF: AWS managed rule groups, then a per-IP rate limit, on the ALB", () => {
    const acl = resource(p.tf, "aws_wafv2_web_acl", "waf_acl").body;
    const rules = acl.rule as { name: string; statement: Record<string, Record<string, unknown>> }[];
    expect(rules.map((r) => r.name)).toEqual([...MANAGED_RULE_GROUPS, "rate-per-ip"]);
    expect(rules.at(-1)?.statement.rate_based_statement).toEqual({
      limit: environments.prod.edge.waf?.requestsPerIpPer5Min,
      aggregate_key_type: "IP",
      evaluation_window_sec: 300,
    });
    expect(resource(p.tf, "aws_wafv2_web_acl_association", "waf_alb").body.resource_arn).toBe(
      ref("aws_lb", resource(p.tf, "aws_lb", "alb").id, "arn"),
    );
    expect(resources(d.tf, "aws_wafv2_web_acl")).toHaveLength(0);
  });
});

describe.each(both)("%s: TLS only on every queue, topic and bucket", (_env, s) => {
  test("the orders topic, the queue and the dead-letter queue deny requests without TLS", () => {
    const docs = [
      ...resources(s.tf, "aws_sqs_queue_policy").map(([, r]) => r.policy),
      ...resources(s.tf, "aws_sns_topic_policy").map(([, r]) => r.policy),
    ].map((x) => JSON.parse(x as string) as { Statement: PolicyStatement[] });
    expect(docs).toHaveLength(3);
    for (const doc of docs) {
      expect(doc.Statement).toContainEqual(
        expect.objectContaining({
          Sid: "TlsOnly",
          Effect: "Deny",
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        }),
      );
    }
    const dlq = resource(s.tf, "aws_sqs_queue", "messaging_orders-dlq").id;
    expect(resource(s.tf, "aws_sqs_queue_policy", "messaging_orders-dlq-policy").body.queue_url).toBe(
      ref("aws_sqs_queue", dlq, "url"),
    );
  });
});

describe.each(both)("%s: health alarms", (env, s) => {
  const alarms = resources(s.tf, "aws_cloudwatch_metric_alarm").map(([, a]) => a);
  const named = (suffix: string) => alarms.find((a) => a.alarm_name === `shop-${env}-${suffix}`);

  test("unhealthy hosts per target group and running < desired per service", () => {
    for (const role of WEB)
      expect(named(`${role}-unhealthy-hosts`)).toMatchObject({
        metric_name: "UnHealthyHostCount",
        threshold: 0,
      });
    for (const role of ROLES) {
      const a = named(`${role}-running-below-desired`);
      const queries = a?.metric_query as { id: string; expression?: string }[];
      expect(queries.find((q) => q.id === "missing")?.expression).toBe("desired - running");
    }
  });

  test("PostgreSQL CPU and free storage, Redis CPU and memory on every node", () => {
    expect(named("postgres-cpu")).toMatchObject({ namespace: "AWS/RDS", metric_name: "CPUUtilization" });
    expect(named("postgres-free-storage")).toMatchObject({
      metric_name: "FreeStorageSpace",
      threshold: environments[env].database.allocatedGb * 1e9 * 0.1,
    });
    const nodes = 1 + environments[env].cache.replicas;
    expect(alarms.filter((a) => String(a.alarm_name).match(/redis-\d{3}-(cpu|memory)$/))).toHaveLength(
      nodes * 2,
    );
    expect(named("redis-001-memory")?.dimensions).toEqual({ CacheClusterId: `shop-${env}-redis-001` });
  });
});

describe.each(both)("%s: the database role exists before the archiver starts", (_env, s) => {
  test("a one-off bootstrap task, run by Terraform, gates the archiver's service", () => {
    const run = resource(s.tf, "terraform_data", "db-bootstrap_run");
    const db = resource(s.tf, "aws_db_instance", "database_postgres").id;
    expect(run.body.triggers_replace).toEqual({
      database: ref("aws_db_instance", db, "resource_id"),
      revision: BOOTSTRAP_REVISION,
    });
    const [exec] = run.body.provisioner as {
      "local-exec": { command: string; working_dir: string; environment: Record<string, string> };
    }[];
    expect(exec?.["local-exec"].command).toBe("bun scripts/deploy/db-bootstrap.ts");
    expect(exec?.["local-exec"].working_dir).toBe(DEFAULT_REPOSITORY_ROOT);
    expect(Object.keys(exec?.["local-exec"].environment ?? {}).sort()).toEqual([
      "AWS_REGION",
      "CLUSTER",
      "LOG_GROUP",
      "SECURITY_GROUP",
      "SUBNETS",
      "TASK_DEFINITION",
    ]);
    // It pulls its image from a private subnet: the NAT routes and the endpoints exist before it runs.
    const after = run.body.depends_on as string[];
    for (const [id] of resources(s.tf, "aws_route").filter(([id]) =>
      id.startsWith("network_private-default"),
    )) {
      expect(after).toContain(`aws_route.${id}`);
    }
    for (const [id] of resources(s.tf, "aws_vpc_endpoint")) expect(after).toContain(`aws_vpc_endpoint.${id}`);
    // Every role that connects as the application user (the archiver; the bidder reads bid history) waits for it.
    expect(ROLES.filter((r) => needs[r].postgres)).toEqual(["bidder", "archiver"]);
    for (const role of ROLES.filter((r) => needs[r].postgres)) {
      const svc = resource(s.tf, "aws_ecs_service", `service-${role}_service`).body;
      expect(svc.depends_on).toContain(`terraform_data.${run.id}`);
    }
    for (const role of ROLES.filter((r) => !needs[r].postgres)) {
      const svc = resource(s.tf, "aws_ecs_service", `service-${role}_service`).body;
      expect(JSON.stringify(svc.depends_on ?? [])).not.toContain("terraform_data");
    }
  });
});

describe("autoscaling targets come from measured capacity", () => {
  const target = (tf: Tf, role: Role) =>
    (
      resource(tf, "aws_appautoscaling_policy", `service-${role}_scaling-policy`).body
        .target_tracking_scaling_policy_configuration as { target_value: number }
    ).target_value;

  test.each(both)("%s: requests per minute = req/s per vCPU × usable vCPUs × utilization × 60", (env, s) => {
    for (const role of ["api", "bidder"] as const) {
      const cpu = environments[env].roles[role].cpu;
      const perSecond = CAPACITY.roles[role].requestsPerSecondPerVcpu;
      expect(target(s.tf, role)).toBe(Math.floor(perSecond * Math.min(cpu / 1024, 1) * UTILIZATION * 60));
    }
  });

  test("the figures the issue found wrong: no longer a count of 1,000 a minute (17 req/s)", () => {
    // prod api: 5,705 req/s × 1 vCPU × 0.5 × 60 = 171,150 a minute (2,852 req/s per task).
    expect(target(p.tf, "api")).toBe(171_150);
    // dev api: 0.25 vCPU → 42,787 a minute (713 req/s per task), ~43× the old 1,000.
    expect(target(d.tf, "api")).toBe(42_787);
  });
});
