import { z } from "zod";

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

const text = (max = 2048) => z.string().min(1).max(max);

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
  REDIS_URL: v({
    schema: z.string().regex(/^rediss?:\/\/[^\s]+$/, "not a redis:// or rediss:// URL"),
    expected: "redis://host:port[/db] or rediss://… (TLS)",
    doc: "Redis for the bidder, broadcaster and archiver (unset: in-memory book and in-process stream)",
  }),
  REDIS_PASSWORD: v({
    schema: text(1024),
    secret: true,
    expected: "string",
    doc: "Redis AUTH password (ElastiCache auth token); overrides a password in REDIS_URL",
  }),
  REDIS_KEY_PREFIX: v({
    schema: z.string().max(128),
    default: "shop:",
    expected: "string of at most 128 chars",
    doc: "Prefix of every Redis key shop writes (one Redis can hold several shops or test runs)",
  }),
  DATABASE_URL: v({
    schema: z.string().regex(/^postgres(?:ql)?:\/\/[^\s]+$/, "not a postgres:// URL"),
    expected: "postgres://user[:password]@host:port/db (PGPASSWORD is honoured)",
    doc: "PostgreSQL for the auction archive (unset: archived in memory)",
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
  ADMIN_TOKEN: v({
    schema: text(1024),
    secret: true,
    expected: "string",
    doc: "When set, creating auction items needs `Authorization: Bearer <ADMIN_TOKEN>`",
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
