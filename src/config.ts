import { z } from "zod";
import { parseFaults } from "./resilience/faults.ts";

/**
 * Every environment variable shop reads, parsed once. Each entry carries its documentation so that
 * `shop config`, the startup error and the README table all come from this one place.
 */
interface VarSpec<T> {
  schema: z.ZodType<T>;
  default?: string;
  secret?: boolean;
  expected: string;
  doc: string;
}

const v = <T, D extends string | undefined = undefined>(spec: VarSpec<T> & { default?: D }) =>
  spec as VarSpec<T> & { default: D };

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+$/, "not an integer")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values);

/** OTEL_TRACES_SAMPLER's values: the OpenTelemetry specification's built-in samplers. */
export const TRACE_SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;

const text = (max = 2048) => z.string().min(1).max(max);

const bool = oneOf(["true", "false"]).transform((s) => s === "true");

/** A token bucket's budget: `capacity` requests, refilled evenly over `periodMs`. */
export interface Rate {
  capacity: number;
  periodMs: number;
}
const rate = z
  .string()
  .regex(/^[1-9]\d{0,8}\/(s|min)$/, "not N/s or N/min")
  .transform((s): Rate => {
    const [n, unit] = s.split("/");
    return { capacity: Number(n), periodMs: unit === "s" ? 1000 : 60_000 };
  });

const scopeName = z.string().regex(/^[a-z][a-z0-9:_-]{0,63}$/, "not a scope name");
const apiKeySpec = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "1-64 of A-Z a-z 0-9 . _ -"),
    key: z.string().min(16).max(512).optional(),
    key_sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/i)
      .optional(),
    scopes: z.array(scopeName).max(100),
  })
  .strict()
  .refine((k) => (k.key === undefined) !== (k.key_sha256 === undefined), "exactly one of key, key_sha256");
export type ApiKeySpec = z.output<typeof apiKeySpec>;

export const vars = {
  PORT: v({ schema: integer(0, 65535), default: "8080", expected: "integer 0..65535", doc: "HTTP port" }),
  HOST: v({
    schema: text(255),
    default: "0.0.0.0",
    expected: "host name or address",
    doc: "HTTP bind address",
  }),
  LOG_LEVEL: v({
    schema: oneOf(["debug", "info", "warn", "error", "silent"]),
    default: "info",
    expected: "debug | info | warn | error | silent",
    doc: "Lowest level written to stdout (one JSON object per line)",
  }),
  LOG_SLOW_MS: v({
    schema: integer(0, 3_600_000),
    default: "500",
    expected: "integer ms 0..3600000",
    doc: "Requests slower than this get their access line at warn whatever their status (0: every request)",
  }),
  LOG_SAMPLE_RATE: v({
    schema: z
      .string()
      .regex(/^(?:0(?:\.\d+)?|1(?:\.0*)?|\.\d+)$/, "not a number in 0..1")
      .transform(Number),
    default: "0.01",
    expected: "number 0..1",
    doc: "Share of fast 1xx-3xx requests whose access line is written at info; the rest are at debug (5xx: error, 4xx: debug)",
  }),
  SHUTDOWN_DRAIN_MS: v({
    schema: integer(0, 600_000),
    default: "5000",
    expected: "integer ms 0..600000",
    doc: "After SIGTERM, how long /ready answers 503 before the server stops accepting connections",
  }),
  SHUTDOWN_TIMEOUT_MS: v({
    schema: integer(100, 3_600_000),
    default: "30000",
    expected: "integer ms 100..3600000",
    doc: "Hard bound on the whole shutdown; past it the process exits 1",
  }),
  BODY_LIMIT_BYTES: v({
    schema: integer(1, 100 * 1024 * 1024),
    default: "65536",
    expected: "integer bytes 1..104857600",
    doc: "Largest accepted request body; larger ones get 413",
  }),
  FAULTS: v({
    schema: z.string().refine((s) => {
      try {
        parseFaults(s);
        return true;
      } catch {
        return false;
      }
    }),
    expected:
      "dep:error=P or dep:latency=DURATION, comma-separated (e.g. dynamodb:error=0.5,redis:latency=200ms)",
    doc: "Faults injected inside dependency calls at startup; see /admin/faults to change them at run time",
  }),
  ADMIN_TOKEN: v({
    schema: z.string().min(16).max(512),
    secret: true,
    expected: "string of 16..512 characters",
    doc: "A key with the admin scope (every scope), as X-API-Key or Bearer; alone (open mode) it guards only the admin operations",
  }),
  // Security (issue 19): docs/security.md
  API_KEYS: v({
    schema: z
      .string()
      .transform((s, ctx) => {
        try {
          return JSON.parse(s) as unknown;
        } catch {
          ctx.addIssue({ code: "custom", message: "not JSON" });
          return z.NEVER;
        }
      })
      .pipe(z.array(apiKeySpec).max(1000)),
    secret: true,
    expected: 'JSON array of {"name", "key_sha256" (hex) | "key", "scopes": [...]}',
    doc: "API keys accepted in X-API-Key; a request is logged and counted under the key's name, never the key",
  }),
  JWT_ISSUER: v({
    schema: text(512),
    expected: "the iss claim tokens must carry",
    doc: "Accept JWT bearer tokens from this issuer (needs JWT_AUDIENCE and JWT_JWKS_URL)",
  }),
  JWT_AUDIENCE: v({
    schema: text(512),
    expected: "the aud value tokens must carry",
    doc: "Audience a JWT must name",
  }),
  JWT_JWKS_URL: v({
    schema: z.url({ protocol: /^https?$/ }),
    expected: "http(s) URL",
    doc: "The only place signing keys come from (never a URL in the token); refreshed on an unknown kid at most every 30 s",
  }),
  JWT_CLOCK_SKEW_S: v({
    schema: integer(0, 60),
    default: "30",
    expected: "integer s 0..60",
    doc: "Tolerance on exp and nbf for clocks that disagree",
  }),
  AUTH_DISABLED: v({
    schema: bool,
    default: "false",
    expected: "true | false",
    doc: "true: no credentials checked even with real infrastructure configured (otherwise shop refuses to start)",
  }),
  TRUST_PROXY: v({
    schema: bool,
    default: "false",
    expected: "true | false",
    doc: "Take the client address from X-Forwarded-For (behind the ALB); otherwise the peer address",
  }),
  RATE_LIMIT_READ: v({
    schema: rate,
    expected: "N/s or N/min (bucket of N, refilled evenly)",
    doc: "Budget of GET requests per credential and per client address; unset: unlimited",
  }),
  RATE_LIMIT_WRITE: v({
    schema: rate,
    expected: "N/s or N/min",
    doc: "Budget of other requests (writes) per credential and per client address; unset: unlimited",
  }),
  RATE_LIMIT_BID: v({
    schema: rate,
    expected: "N/s or N/min",
    doc: "Budget of bids per credential and per client address; unset: unlimited",
  }),
  AWS_REGION: v({
    schema: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "not a region"),
    expected: "AWS region, e.g. eu-west-1",
    doc: "Region of the AWS clients; required when a *_TABLE is set (the SDK reads the same variable)",
  }),
  AWS_ENDPOINT_URL: v({
    schema: z.url({ protocol: /^https?$/ }),
    expected: "http(s) URL",
    doc: "Endpoint for every AWS client (a local emulator); unset means the real AWS endpoints",
  }),
  AWS_ENDPOINT_URL_DYNAMODB: v({
    schema: z.url({ protocol: /^https?$/ }),
    expected: "http(s) URL",
    doc: "DynamoDB endpoint, overrides AWS_ENDPOINT_URL (e.g. http://127.0.0.1:8000 for DynamoDB Local)",
  }),
  AWS_ENDPOINT_URL_SQS: v({
    schema: z.url({ protocol: /^https?$/ }),
    expected: "http(s) URL",
    doc: "SQS endpoint, overrides AWS_ENDPOINT_URL (e.g. fauxqs)",
  }),
  AWS_ENDPOINT_URL_SNS: v({
    schema: z.url({ protocol: /^https?$/ }),
    expected: "http(s) URL",
    doc: "SNS endpoint, overrides AWS_ENDPOINT_URL (e.g. fauxqs)",
  }),
  PRODUCTS_TABLE: v({
    schema: text(255),
    expected: "DynamoDB table name",
    doc: "Products live in this DynamoDB table (partition key product_id, number); unset means in memory",
  }),
  REDIS_URL: v({
    schema: z.url({ protocol: /^rediss?$/ }),
    expected: "redis://host:port[/db] or rediss://…",
    doc: "Redis for the product read cache and the auction book and stream; unset: no cache, in-memory auctions",
  }),
  REDIS_PASSWORD: v({
    schema: text(512),
    secret: true,
    expected: "non-empty string",
    doc: "Redis AUTH password (ElastiCache auth token); overrides a password inside REDIS_URL",
  }),
  REDIS_KEY_PREFIX: v({
    schema: z.string().max(128),
    default: "shop:",
    expected: "string of at most 128 characters",
    doc: "Prefix of every Redis key shop writes, so several deployments or test runs can share one Redis",
  }),
  PRODUCT_CACHE_TTL_S: v({
    schema: integer(1, 86_400),
    default: "300",
    expected: "integer seconds 1..86400",
    doc: "Lifetime of a cached product; writes delete the entry at once, the TTL only bounds memory",
  }),
  PRODUCT_CACHE_NEGATIVE_TTL_S: v({
    schema: integer(1, 3_600),
    default: "5",
    expected: "integer seconds 1..3600",
    doc: "Lifetime of a cached 404, so a storm of reads of a missing product costs one store read",
  }),
  // Orders pipeline and commerce (issues 4 and 5)
  PAYMENT_SIM_MS: v({
    schema: integer(0, 600_000),
    default: "3000",
    expected: "integer ms 0..600000",
    doc: "Latency of the simulated payment gateway per charge",
  }),
  PAYMENT_CONCURRENCY: v({
    schema: integer(1, 100_000),
    default: "20",
    expected: "integer 1..100000",
    doc: "Payments POST /orders/sync runs at once per process; further requests wait in line",
  }),
  SYNC_QUEUE_TIMEOUT_MS: v({
    schema: integer(0, 600_000),
    default: "10000",
    expected: "integer ms 0..600000",
    doc: "Longest a POST /orders/sync request waits for a payment slot before 503",
  }),
  PROCESSOR_CONCURRENCY: v({
    schema: integer(1, 10_000),
    default: "100",
    expected: "integer 1..10000",
    doc: "Orders the processor keeps in flight under a backlog",
  }),
  PROCESSOR_DRAIN_MS: v({
    schema: integer(0, 3_600_000),
    default: "20000",
    expected: "integer ms 0..3600000",
    doc: "On SIGTERM, how long in-flight orders may finish before their messages return to the queue",
  }),
  QUEUE_VISIBILITY_TIMEOUT_S: v({
    schema: integer(1, 43_200),
    default: "30",
    expected: "integer s 1..43200",
    doc: "Visibility timeout the processor asks for on receive; a heartbeat extends it while an order is worked on",
  }),
  QUEUE_MAX_RECEIVES: v({
    schema: integer(1, 1000),
    default: "5",
    expected: "integer 1..1000",
    doc: "In-process queue only: receives after which a message goes to the dead-letter list (SQS uses its redrive policy)",
  }),
  LAMBDA_ORDER_RESERVE_MS: v({
    schema: integer(0, 900_000),
    default: "5000",
    expected: "integer ms 0..900000",
    doc: "On Lambda (`shop lambda`), an order starts only if this much time is left before the invocation's deadline; later ones return to the queue",
  }),
  SNS_TOPIC_ARN: v({
    schema: text(256).regex(/^arn:/, "not an ARN"),
    expected: "an SNS topic ARN",
    doc: "Orders are published here (raw delivery to SQS_QUEUE_URL); without it and SQS_QUEUE_URL, an in-process queue",
  }),
  SQS_QUEUE_URL: v({
    schema: z.url(),
    expected: "an SQS queue URL",
    doc: "The processor consumes orders here; the api publishes here directly when SNS_TOPIC_ARN is unset",
  }),
  OUTBOX_SWEEP_MS: v({
    schema: integer(50, 3_600_000),
    default: "2000",
    expected: "integer ms 50..3600000",
    doc: "The outbox relay sweeps the outbox this often and publishes records older than this (left by a failed publish or a process that died)",
  }),
  ORDERS_TABLE: v({
    schema: text(255),
    expected: "DynamoDB table name",
    doc: "Orders (pk order_id S); in memory when unset",
  }),
  CARTS_TABLE: v({
    schema: text(255),
    expected: "DynamoDB table name",
    doc: "Shopping carts (pk shopping_cart_id N); in memory when unset",
  }),
  INVENTORY_TABLE: v({
    schema: text(255),
    expected: "DynamoDB table name",
    doc: "Warehouse stock (pk product_id N); in memory when unset",
  }),
  IDEMPOTENCY_TABLE: v({
    schema: text(255),
    expected: "DynamoDB table name",
    doc: "Idempotency-Key results and payment charges (pk key S, TTL expires_at); in memory when unset",
  }),
  COUNTERS_TABLE: v({
    schema: text(255),
    expected: "DynamoDB table name",
    doc: "int32 id allocation shared by processes (pk name S); in memory when unset",
  }),
  OUTBOX_TABLE: v({
    schema: text(255),
    expected: "DynamoDB table name",
    doc: "Order messages waiting for the outbox relay (pk id S), written in the same transaction as their order; in memory when unset",
  }),
  // Auctions (bidder, broadcaster, archiver)
  DATABASE_URL: v({
    schema: z.string().regex(/^postgres(?:ql)?:\/\/[^\s]+$/, "not a postgres:// URL"),
    expected:
      "postgres://user[:password]@host:port/db[?sslmode=verify-full&sslrootcert=FILE] (PGPASSWORD is honoured)",
    doc: "PostgreSQL for the auction archive (unset: archived in memory); sslrootcert names the only CAs trusted",
  }),
  DATABASE_AUTH: v({
    schema: oneOf(["password", "iam"]),
    default: "password",
    expected: "password | iam",
    doc: "iam: every new connection signs a fresh RDS IAM token with the AWS credentials (needs AWS_REGION); password: the URL's or PGPASSWORD",
  }),
  DATABASE_SCHEMA: v({
    schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "not a lower-case SQL identifier"),
    default: "public",
    expected: "lower-case SQL identifier",
    doc: "PostgreSQL schema of the archive tables; created by the migrations if missing",
  }),
  BID_STRATEGY: v({
    schema: oneOf(["lua", "optimistic"]),
    default: "lua",
    expected: "lua | optimistic",
    doc: "How the Redis book accepts a bid: one Lua script, or WATCH/MULTI/EXEC with bounded retries",
  }),
  BID_OPTIMISTIC_RETRIES: v({
    schema: integer(1, 1000),
    default: "20",
    expected: "integer 1..1000",
    doc: "Optimistic strategy: attempts before answering 503 TRY_AGAIN",
  }),
  BID_OPTIMISTIC_POOL: v({
    schema: integer(1, 1024),
    default: "16",
    expected: "integer 1..1024",
    doc: "Optimistic strategy: Redis connections for WATCH (each transaction needs its own)",
  }),
  AUCTION_CLOSE_BATCH: v({
    schema: integer(1, 10_000),
    default: "200",
    expected: "integer 1..10000",
    doc: "Auctions one atomic close step closes (one Lua script, or WATCH/MULTI per item)",
  }),
  AUCTION_CLOSE_POLL_MS: v({
    schema: integer(10, 60_000),
    default: "250",
    expected: "integer ms 10..60000",
    doc: "Longest the closer sleeps between looks for ended auctions (it wakes for the next known end)",
  }),
  AUCTION_SETTLE_POLL_MS: v({
    schema: integer(10, 600_000),
    default: "1000",
    expected: "integer ms 10..600000",
    doc: "How often a settlement's order is looked at while the processor charges it",
  }),
  AUCTION_SETTLE_LEASE_MS: v({
    schema: integer(100, 3_600_000),
    default: "15000",
    expected: "integer ms 100..3600000",
    doc: "A settlement step claimed by a closer that died is taken over after this",
  }),
  WS_PING_MS: v({
    schema: integer(1000, 3_600_000),
    default: "20000",
    expected: "integer ms 1000..3600000",
    doc: "WebSocket ping interval; keep it below the load balancer's idle timeout (ALB: 60 s)",
  }),
  WS_SEND_BUFFER_BYTES: v({
    schema: integer(1024, 1024 * 1024 * 1024),
    default: "1048576",
    expected: "integer bytes 1024..1073741824",
    doc: "A WebSocket client with more unsent bytes than this is closed with code 4008 (slow consumer)",
  }),
  ARCHIVER_BATCH: v({
    schema: integer(1, 10_000),
    default: "1000",
    expected: "integer 1..10000",
    doc: "Most stream entries the archiver writes in one PostgreSQL transaction",
  }),
  ARCHIVER_CLAIM_IDLE_MS: v({
    schema: integer(100, 3_600_000),
    default: "30000",
    expected: "integer ms 100..3600000",
    doc: "Entries another archiver left unacknowledged this long are taken over (XAUTOCLAIM)",
  }),
  STREAM_RETAIN_MS: v({
    schema: integer(0, 86_400_000),
    default: "300000",
    expected: "integer ms 0..86400000",
    doc: "Archived stream entries younger than this are kept for broadcasters that lag behind",
  }),
  OTEL_EXPORTER_OTLP_ENDPOINT: v({
    schema: z.url({ protocol: /^https?$/ }),
    expected: "http(s) URL of an OTLP/HTTP receiver (spans go to its /v1/traces)",
    doc: "Turns tracing on: spans are exported here (docs/observability.md); unset means no tracing work at all",
  }),
  OTEL_EXPORTER_OTLP_PROTOCOL: v({
    schema: oneOf(["http/protobuf", "http/json"]),
    default: "http/protobuf",
    expected: "http/protobuf | http/json",
    doc: "OTLP encoding of the exported spans",
  }),
  OTEL_SERVICE_NAME: v({
    schema: text(255),
    expected: "service name",
    doc: "service.name of the spans; default shop-<role> (roles joined by -)",
  }),
  OTEL_RESOURCE_ATTRIBUTES: v({
    schema: z.string().regex(/^([^=,]+=[^,]*)(,[^=,]+=[^,]*)*$/, "not k=v,k2=v2"),
    expected: "k=v,k2=v2 (percent-encoded values)",
    doc: "Extra resource attributes of every span (deployment.environment.name=prod,…)",
  }),
  OTEL_TRACES_SAMPLER: v({
    schema: oneOf(TRACE_SAMPLERS),
    default: "parentbased_always_on",
    expected: TRACE_SAMPLERS.join(" | "),
    doc: "Which traces are recorded; parentbased_* follow an incoming traceparent's sampled flag",
  }),
  OTEL_TRACES_SAMPLER_ARG: v({
    schema: z
      .string()
      .regex(/^(0(\.\d+)?|1(\.0+)?)$/, "not a number 0..1")
      .transform(Number),
    default: "1",
    expected: "number 0..1",
    doc: "The ratio of the traceidratio samplers (0.01: one trace in a hundred)",
  }),
  OTEL_BSP_MAX_QUEUE_SIZE: v({
    schema: integer(1, 1_000_000),
    default: "2048",
    expected: "integer 1..1000000",
    doc: 'Finished spans waiting for export; past it spans are dropped (otel_spans_dropped_total{reason="queue_full"})',
  }),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: v({
    schema: integer(1, 1_000_000),
    default: "512",
    expected: "integer 1..1000000",
    doc: "Most spans in one export request",
  }),
  OTEL_BSP_SCHEDULE_DELAY: v({
    schema: integer(1, 600_000),
    default: "5000",
    expected: "integer ms 1..600000",
    doc: "Longest a finished span waits before its batch is exported",
  }),
  OTEL_EXPORTER_OTLP_TIMEOUT: v({
    schema: integer(1, 600_000),
    default: "10000",
    expected: "integer ms 1..600000",
    doc: "Bound on one export request; a slow collector costs dropped spans, never a slower request",
  }),
} satisfies Record<string, VarSpec<unknown>>;

type Vars = typeof vars;
export type Config = {
  readonly [K in keyof Vars]: Vars[K] extends VarSpec<infer T> & { default: infer D }
    ? D extends string
      ? T
      : T | undefined
    : never;
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Hides credentials: whole values of secret variables, and the password inside URLs. */
export function redact(name: keyof Vars, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const spec: VarSpec<unknown> = vars[name];
  if (spec.secret) return "[redacted]";
  try {
    const u = new URL(value);
    if (u.password) {
      u.password = "redacted";
      return u.toString();
    }
  } catch {
    // not a URL: nothing embedded to hide
  }
  return value;
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(vars) as [keyof Vars, VarSpec<unknown>][]) {
    const raw = env[name];
    const value = raw === undefined || raw === "" ? spec.default : raw;
    if (value === undefined) {
      out[name] = undefined;
      continue;
    }
    const parsed = spec.schema.safeParse(value);
    if (parsed.success) out[name] = parsed.data;
    else problems.push(`${name}=${JSON.stringify(redact(name, value))}: expected ${spec.expected}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as Config;
}

/** The effective configuration for display: every variable, its value (redacted) and where it came from. */
export function describeConfig(env: Record<string, string | undefined>) {
  return (Object.keys(vars) as (keyof Vars)[]).map((name) => {
    const raw = env[name];
    const set = raw !== undefined && raw !== "";
    const value = set ? raw : vars[name].default;
    return {
      name,
      value: redact(name, value) ?? null,
      source: set ? "env" : value === undefined ? "unset" : "default",
    };
  });
}

// re-exported so modules can reference the spec type for README generation and tests
export type { VarSpec };
