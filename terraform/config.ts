/**
 * Everything that differs between environments, and the one table that says what each role of the binary
 * needs. Constructs take their props from here; nothing else in terraform/ hard-codes a size or a count.
 */

import { TABLES as APP_TABLES, type TableDef } from "../src/adapters/dynamodb/tables.ts";
import {
  ROLES as APP_ROLES,
  type Role as AppRole,
  LAMBDA_ROOTS,
  type Resources,
  resourcesOf,
} from "../src/modules/deps.ts";
import { CAPACITY, requestsPerMinuteTarget } from "./capacity.ts";
import cdktf from "./cdktf.json" with { type: "json" };
import { VISIBILITY_PER_TIMEOUT, validateLambdaProcessor } from "./constructs/lambda-processor.ts";

/**
 * Terraform and OpenTofu releases the output must run on (ephemeral resources and write-only arguments keep
 * generated secrets out of state and need 1.11). cdktn checks every feature used against these at synth.
 */
export const TARGET_VERSIONS = cdktf.targetVersions;
export const REQUIRED_TERRAFORM = ">= 1.11.0";

/** The app's roles, each its own service; `all` (every role in one process) is for running locally. */
export type Role = Exclude<AppRole, "all">;
export const ROLES: readonly Role[] = APP_ROLES.filter((r): r is Role => r !== "all");

/** The app's DynamoDB tables (src/adapters/dynamodb/tables.ts), named after their variable: ORDERS_TABLE → orders. */
export type TableVariable = TableDef["env"];
export type TableName = TableVariable extends `${infer N}_TABLE` ? Lowercase<N> : never;
export const tableName = (variable: TableVariable) =>
  variable.slice(0, -"_TABLE".length).toLowerCase() as TableName;
export const TABLES: readonly TableName[] = APP_TABLES.map((t) => tableName(t.env));

/** The app's port and health endpoints (Foundation issue); every construct that talks to a task uses these. */
export const APP = {
  port: 8080,
  readyPath: "/ready",
  healthCheckCommand: ["CMD", "/shop", "healthcheck"],
  /** The broadcaster pings WebSocket clients this often; the ALB idle timeout must stay above it. */
  wsPingMs: 20_000,
  /** Payment simulation per order; the processor's longest step. */
  paymentSimMs: 3_000,
  /** Where the image carries the RDS CA bundle (Dockerfile); the only CAs the archiver trusts. */
  rdsCaFile: "/etc/ssl/certs/rds-global-bundle.pem",
  /** distroless "nonroot": the user every container runs as. */
  user: "65532:65532",
} as const;

/**
 * The processor function runs `<image_tag><suffix>`: the single-platform manifest of the image index for the
 * function's architecture, tagged by the deploy (scripts/deploy/apply.ts), since Lambda refuses an index.
 */
export const LAMBDA_IMAGE_TAG_SUFFIX = "-lambda";

/** PostgreSQL major version of RDS; CI's PostgreSQL service image runs the same one. */
export const POSTGRES_MAJOR = 17;

/** How each role scales; the signal is the one that saturates first for that role. */
export type Scaling =
  | { kind: "requests"; targetPerTask: number }
  | { kind: "backlog"; targetPerTask: number }
  | { kind: "cpu"; targetPercent: number }
  | { kind: "fixed" };

export interface RoleSize {
  /** Fargate CPU units (256 = 0.25 vCPU) and memory MiB; must be a valid Fargate pair. */
  cpu: number;
  memory: number;
  min: number;
  max: number;
}

/** What a process of the binary touches, as the app declares it (`resourcesOf`), with tables by name. */
export interface AppNeeds {
  tables: readonly TableName[];
  redis: boolean;
  /** Connects to PostgreSQL as the least-privilege application role, with IAM tokens. */
  postgres: boolean;
  publishOrders: boolean;
  consumeOrders: boolean;
  /** Sets the retry time of messages the Lambda event source mapping received (ChangeMessageVisibility). */
  retryOrders: boolean;
  /** Receives ADMIN_TOKEN, which guards the admin-only endpoints it serves. */
  adminToken: boolean;
}

const appNeeds = ({ tables, ...uses }: Resources): AppNeeds => ({ ...uses, tables: tables.map(tableName) });

export interface RoleNeeds extends AppNeeds {
  /** ALB path patterns routed to this role; `default` takes whatever no other rule matched. */
  routes: readonly string[] | "default" | "none";
  scaling: Scaling;
}

/** What only the deployment decides per role: how the ALB reaches it and what it scales on. */
type Placement = Pick<RoleNeeds, "routes" | "scaling">;

/**
 * Which role needs what. The resources (tables, Redis, PostgreSQL, topic, queue, admin token) are the app's
 * own answer, `resourcesOf(role)` over its module graph (src/modules/deps.ts): what the running process uses
 * is exactly what the task is granted and configured with. Routes and scaling are the deployment's. IAM
 * policies, security-group rules, environment variables and secrets are all derived from this table.
 */
export function roleNeeds(env: EnvConfig): Record<Role, RoleNeeds> {
  const placement: Record<Role, Placement> = {
    api: {
      routes: "default",
      scaling: {
        kind: "requests",
        targetPerTask: requestsPerMinuteTarget(CAPACITY.roles.api, env.roles.api.cpu),
      },
    },
    processor: { routes: "none", scaling: { kind: "backlog", targetPerTask: backlogPerTask(env) } },
    bidder: {
      routes: ["/api/v1/items*"],
      scaling: {
        kind: "requests",
        targetPerTask: requestsPerMinuteTarget(CAPACITY.roles.bidder, env.roles.bidder.cpu),
      },
    },
    broadcaster: {
      routes: ["/ws/*", "/auctions/*"],
      scaling: { kind: "cpu", targetPercent: env.scaling.broadcasterCpuPercent },
    },
    archiver: {
      routes: "none",
      // One consumer group member keeps up with the target rate; more would only contend on the stream.
      scaling: { kind: "fixed" },
    },
  };
  const needs = {} as Record<Role, RoleNeeds>;
  for (const role of ROLES) needs[role] = { ...appNeeds(resourcesOf(role)), ...placement[role] };
  return needs;
}

/** What the processor function needs: the app's answer for the modules it runs on Lambda. */
export function lambdaProcessorNeeds(): AppNeeds {
  return appNeeds(resourcesOf(...LAMBDA_ROOTS.processor));
}

/** The roles that run as ECS services: every role, but the processor only in "ecs" mode. */
export function ecsRoles(env: EnvConfig): Role[] {
  return ROLES.filter((r) => r !== "processor" || env.processorMode === "ecs");
}

/**
 * Acceptable backlog per processor task: a task finishes PROCESSOR_CONCURRENCY orders every payment time, so
 * this backlog is cleared within `backlogSeconds`. Scaling on it keeps queue wait bounded whatever the rate.
 */
export function backlogPerTask(env: EnvConfig): number {
  const perSecond = env.app.processorConcurrency / (APP.paymentSimMs / 1000);
  return Math.max(1, Math.round(perSecond * env.scaling.processorBacklogSeconds));
}

export interface StateConfig {
  /** No default: a bucket name is global, and a guessed one is someone else's. */
  bucket?: string;
  region: string;
  /** S3-native lock file (Terraform >= 1.10) or a DynamoDB lock table for older tooling. */
  lock: { kind: "s3" } | { kind: "dynamodb"; table: string };
}

/**
 * The processor as a Lambda function fed by an SQS event source mapping (docs/lambda.md). Each sandbox runs
 * up to `app.processorConcurrency` orders of its batch at once.
 */
export interface LambdaSizing {
  memoryMb: number;
  /** The invocation's limit; the queue's visibility timeout is at least 6× this (AWS's recommendation). */
  timeoutSeconds: number;
  batchSize: number;
  /** How long the mapping gathers a batch: an order waits at most this long before it starts. */
  batchingWindowSeconds: number;
  /** Sandboxes the mapping keeps busy at most (2..1000). */
  maximumConcurrency: number;
}

export interface EnvConfig {
  name: "dev" | "prod";
  /** Where the processor role runs: an ECS service (`roles.processor`) or a Lambda function (`lambda`). */
  processorMode: "ecs" | "lambda";
  lambda: LambdaSizing;
  region: string;
  /** Availability zones used for subnets (and for multi-AZ data in prod). */
  azCount: number;
  vpcCidr: string;
  /** One NAT gateway (cheap, single point of egress failure) or one per AZ. */
  natGateways: "one" | "per-az";
  /** ACM certificate for the ALB; without one the ALB serves plain HTTP (refused for prod). */
  certificateArn?: string;
  fargate: {
    /** Graviton (ARM64) costs about a fifth less per vCPU; the image is built for both. */
    architecture: "X86_64" | "ARM64";
    /** Roles that run on Fargate Spot (interruptible: a two-minute SIGTERM, which every role drains in). */
    spot: readonly Role[];
  };
  /** VPC interface endpoints for ECR, CloudWatch Logs, Secrets Manager and SQS (S3 and DynamoDB always get free gateway endpoints). */
  interfaceEndpoints: boolean;
  edge: {
    /** ALB access logs to S3: the full record of every request (the app logs only a sample). */
    accessLogs: boolean;
    /** VPC flow logs to CloudWatch Logs. */
    flowLogs: boolean;
    /** WAF on the ALB: AWS managed rule groups and a per-IP rate limit over 5 minutes. */
    waf?: { requestsPerIpPer5Min: number };
  };
  state: StateConfig;
  deletionProtection: boolean;
  logRetentionDays: number;
  roles: Record<Role, RoleSize>;
  app: {
    logLevel: "debug" | "info" | "warn" | "error";
    paymentConcurrency: number;
    processorConcurrency: number;
    bidStrategy: "lua" | "optimistic";
    /** SIGTERM → /ready 503 for this long; the target group's deregistration delay matches it. */
    shutdownDrainMs: number;
    /** Hard bound on the whole shutdown; the container's stopTimeout sits above it. */
    shutdownTimeoutMs: number;
  };
  scaling: {
    broadcasterCpuPercent: number;
    processorBacklogSeconds: number;
  };
  /**
   * tracing_enabled: an ADOT collector sidecar in every task, exporting the app's OTLP spans to X-Ray, and
   * the app's OTEL_* variables pointing at it (docs/observability.md). `sampleRatio` is the share of new
   * traces recorded (parentbased_traceidratio: a traced caller's decision is followed).
   */
  tracing: { enabled: false } | { enabled: true; sampleRatio: number };
  cache: { nodeType: string; replicas: number };
  database: {
    instanceClass: string;
    allocatedGb: number;
    maxAllocatedGb: number;
    backupRetentionDays: number;
    multiAz: boolean;
  };
  alarms: {
    /** Oldest message age on the orders queue that pages someone. */
    oldestMessageSeconds: number;
    /** 5xx responses as a share of requests, in percent. */
    errorRatePercent: number;
    /** Subscribed to the alerts topic when set. */
    email?: string;
  };
}

const base = {
  region: "us-west-2",
  vpcCidr: "10.40.0.0/16",
  state: { region: "us-west-2", lock: { kind: "s3" } },
  app: {
    logLevel: "info",
    paymentConcurrency: 64,
    processorConcurrency: 50,
    bidStrategy: "lua",
    shutdownDrainMs: 5_000,
    shutdownTimeoutMs: 30_000,
  },
  scaling: {
    broadcasterCpuPercent: 60,
    processorBacklogSeconds: 30,
  },
  // Both environments run the processor on ECS (docs/infrastructure.md says why); this sizing applies when
  // an environment's processorMode is "lambda". 512 MB: the runtime peaks at ~130 MB with a batch of 10, and
  // Lambda's CPU share grows with memory. A sandbox works one batch at a time, so 20 sandboxes × batches of 10
  // keep at most 200 orders in flight (~67 orders/s at a 3 s payment), above dev's ECS ceiling (3 × 50).
  lambda: {
    memoryMb: 512,
    timeoutSeconds: 30,
    batchSize: 10,
    batchingWindowSeconds: 5,
    maximumConcurrency: 20,
  },
} as const satisfies Partial<EnvConfig>;

export const environments: Record<EnvConfig["name"], EnvConfig> = {
  dev: {
    ...base,
    name: "dev",
    processorMode: "ecs",
    azCount: 2,
    natGateways: "one",
    fargate: { architecture: "ARM64", spot: ["api", "processor", "bidder", "broadcaster", "archiver"] },
    interfaceEndpoints: false,
    edge: { accessLogs: false, flowLogs: false },
    deletionProtection: false,
    logRetentionDays: 7,
    tracing: { enabled: false },
    roles: {
      api: { cpu: 256, memory: 512, min: 1, max: 3 },
      processor: { cpu: 256, memory: 512, min: 1, max: 3 },
      bidder: { cpu: 256, memory: 512, min: 1, max: 3 },
      broadcaster: { cpu: 256, memory: 512, min: 1, max: 3 },
      archiver: { cpu: 256, memory: 512, min: 1, max: 1 },
    },
    cache: { nodeType: "cache.t4g.micro", replicas: 0 },
    database: {
      instanceClass: "db.t4g.micro",
      allocatedGb: 20,
      maxAllocatedGb: 50,
      backupRetentionDays: 1,
      multiAz: false,
    },
    alarms: { oldestMessageSeconds: 300, errorRatePercent: 5 },
  },
  prod: {
    ...base,
    name: "prod",
    processorMode: "ecs",
    azCount: 3,
    natGateways: "per-az",
    // Spot only where an interruption costs nothing: the processor's orders return to the queue.
    fargate: { architecture: "X86_64", spot: ["processor"] },
    interfaceEndpoints: true,
    // 3,000 requests per IP in 5 minutes (10/s sustained) stops a single client flooding the shop; a load
    // test from one address must target dev, which has no WAF.
    edge: { accessLogs: true, flowLogs: true, waf: { requestsPerIpPer5Min: 3_000 } },
    deletionProtection: true,
    logRetentionDays: 30,
    // 1 %: what it costs per request is in docs/benchmarks.md (tracing); X-Ray bills per trace recorded.
    tracing: { enabled: true, sampleRatio: 0.01 },
    roles: {
      api: { cpu: 1024, memory: 2048, min: 2, max: 20 },
      processor: { cpu: 512, memory: 1024, min: 2, max: 20 },
      bidder: { cpu: 1024, memory: 2048, min: 2, max: 20 },
      broadcaster: { cpu: 1024, memory: 2048, min: 2, max: 20 },
      archiver: { cpu: 512, memory: 1024, min: 1, max: 1 },
    },
    cache: { nodeType: "cache.r7g.large", replicas: 1 },
    database: {
      instanceClass: "db.r7g.large",
      allocatedGb: 100,
      maxAllocatedGb: 500,
      backupRetentionDays: 14,
      multiAz: true,
    },
    alarms: { oldestMessageSeconds: 120, errorRatePercent: 1 },
  },
};

/** Account-specific settings, each `SHOP_<ENV>_<NAME>` or `SHOP_<NAME>` (the first wins). */
export const ACCOUNT_SETTINGS = [
  "STATE_BUCKET",
  "STATE_REGION",
  "STATE_LOCK_TABLE",
  "AWS_REGION",
  "CERTIFICATE_ARN",
  "ALARM_EMAIL",
] as const;

/**
 * The settings a synthesizing shell provides: its own SHOP_* variables, over SHOP_VARS, a JSON object of
 * variables (the workflows pass GitHub's whole `vars` context as `toJSON(vars)`). Empty values count as
 * unset: GitHub expands a variable that does not exist to "".
 */
export function settingsFrom(env: Record<string, string | undefined>): Record<string, string> {
  const fromJson = env.SHOP_VARS ? (JSON.parse(env.SHOP_VARS) as Record<string, unknown>) : {};
  const out: Record<string, string> = {};
  for (const [name, value] of [...Object.entries(fromJson), ...Object.entries(env)]) {
    if (name.startsWith("SHOP_") && name !== "SHOP_VARS" && typeof value === "string" && value !== "") {
      out[name] = value;
    }
  }
  return out;
}

/**
 * Account-specific settings come from the synthesizing shell, never from this file: the state bucket, the
 * certificate and the alarm address differ per AWS account, the sizes above do not.
 */
export function withOverrides(env: EnvConfig, vars: Record<string, string | undefined>): EnvConfig {
  const upper = env.name.toUpperCase();
  const pick = (name: (typeof ACCOUNT_SETTINGS)[number]) =>
    vars[`SHOP_${upper}_${name}`] || vars[`SHOP_${name}`] || undefined;
  const bucket = pick("STATE_BUCKET") ?? env.state.bucket;
  const lockTable = pick("STATE_LOCK_TABLE");
  const certificateArn = pick("CERTIFICATE_ARN");
  const email = pick("ALARM_EMAIL");
  return {
    ...env,
    region: pick("AWS_REGION") ?? env.region,
    ...(certificateArn ? { certificateArn } : {}),
    state: {
      ...(bucket ? { bucket } : {}),
      region: pick("STATE_REGION") ?? env.state.region,
      lock: lockTable ? { kind: "dynamodb", table: lockTable } : env.state.lock,
    },
    alarms: { ...env.alarms, ...(email ? { email } : {}) },
  };
}

/** ECS caps stopTimeout at 120 s; the container must get SIGKILL only after the binary's own hard bound. */
export const ECS_MAX_STOP_TIMEOUT_S = 120;
const STOP_MARGIN_S = 5;

export function stopTimeoutSeconds(env: EnvConfig): number {
  return Math.ceil(env.app.shutdownTimeoutMs / 1000) + STOP_MARGIN_S;
}

/** Deregistration delay equals the drain: the ALB stops routing to a task for exactly as long as it drains. */
export function deregistrationDelaySeconds(env: EnvConfig): number {
  return Math.ceil(env.app.shutdownDrainMs / 1000);
}

/** Idle timeout comfortably above the WebSocket ping interval, so an idle but live socket is never cut. */
export function albIdleTimeoutSeconds(): number {
  return Math.ceil((APP.wsPingMs * 3) / 1000);
}

/**
 * Visibility timeout of the orders queue. The processor extends visibility while an order is in flight
 * (heartbeat), so this does not bound processing time; it decides how soon the message of a crashed task is
 * handed to another one. A minute, or twice the longest processing (one payment and two retries) if longer,
 * so that a heartbeat delayed by a GC pause or a slow network never lets a live order be redelivered.
 */
export function queueVisibilitySeconds(env: EnvConfig): number {
  const attempts = 3;
  const longestProcessingS = (APP.paymentSimMs / 1000) * attempts;
  const ecs = Math.max(60, Math.ceil(longestProcessingS * 2));
  // The event source mapping hides a batch for the visibility timeout and AWS refuses a timeout below the
  // function's; 6× leaves room for the mapping's own retries of a throttled invocation (AWS's recommendation).
  return env.processorMode === "lambda"
    ? Math.max(ecs, VISIBILITY_PER_TIMEOUT * env.lambda.timeoutSeconds)
    : ecs;
}

/**
 * LAMBDA_ORDER_RESERVE_MS: an order starts on Lambda only with this much of the invocation left, one payment
 * and 2 s for the store writes and slow calls.
 */
export function lambdaOrderReserveMs(): number {
  return APP.paymentSimMs + 2_000;
}

/** Rejects configurations the binary or ECS would misbehave with, at synth time rather than at deploy. */
export function validate(env: EnvConfig): string[] {
  const problems: string[] = [];
  const stop = stopTimeoutSeconds(env);
  if (stop > ECS_MAX_STOP_TIMEOUT_S) {
    problems.push(`${env.name}: stopTimeout ${stop}s exceeds the ECS maximum of ${ECS_MAX_STOP_TIMEOUT_S}s`);
  }
  if (env.app.shutdownDrainMs >= env.app.shutdownTimeoutMs) {
    problems.push(`${env.name}: shutdownDrainMs must be below shutdownTimeoutMs`);
  }
  if (env.azCount < 2) problems.push(`${env.name}: azCount must be at least 2 (the ALB needs two subnets)`);
  for (const role of ROLES) {
    const size = env.roles[role];
    if (size.min < 1 || size.max < size.min) problems.push(`${env.name}/${role}: need 1 <= min <= max`);
  }
  if (env.roles.archiver.min !== env.roles.archiver.max) {
    problems.push(`${env.name}/archiver: runs a fixed count, min must equal max`);
  }
  if (env.processorMode === "lambda") {
    const limits = {
      sizing: env.lambda,
      orderReserveMs: lambdaOrderReserveMs(),
      queueVisibilitySeconds: queueVisibilitySeconds(env),
      environment: {},
    };
    for (const p of validateLambdaProcessor(limits)) problems.push(`${env.name}/lambda: ${p}`);
  }
  if (env.natGateways === "one" && env.name === "prod") {
    problems.push("prod: one NAT gateway is a single point of failure; use per-az");
  }
  const upper = env.name.toUpperCase();
  if (!env.state.bucket) {
    problems.push(
      `${env.name}: no state bucket: set SHOP_${upper}_STATE_BUCKET or SHOP_STATE_BUCKET (bucket names are global)`,
    );
  }
  if (env.name === "prod" && !env.certificateArn) {
    problems.push(`prod: no certificate: set SHOP_PROD_CERTIFICATE_ARN (prod never serves plain HTTP)`);
  }
  if (env.name === "prod" && !env.alarms.email) {
    problems.push(
      `prod: no alarm address: set SHOP_PROD_ALARM_EMAIL (the alerts topic has no other subscriber)`,
    );
  }
  return problems;
}
