/**
 * The HTTP edge's security from configuration: credentials, rate limits, and the startup rule that a
 * process configured with real infrastructure does not run open by accident (docs/security.md).
 */
import type { Registry } from "prom-client";
import { configuredTables } from "../adapters/dynamodb/tables.ts";
import type { RedisConnection } from "../adapters/redis/client.ts";
import { type Config, ConfigError } from "../config.ts";
import type { Logger } from "../observability/log.ts";
import { createAuthenticator } from "./auth.ts";
import { createGuard, type Guard } from "./guard.ts";
import { memoryLimiter, ratesOf, redisLimiter } from "./rate-limit.ts";
import { authEnforced } from "./security.ts";

/** The settings that mean "this is a deployment": real stores, queues or Redis rather than memory. */
export function infrastructureOf(config: Config): string[] {
  return [
    ...configuredTables(config).map((t) => t.def.env),
    ...(["SQS_QUEUE_URL", "SNS_TOPIC_ARN", "REDIS_URL", "DATABASE_URL"] as const).filter(
      (name) => config[name] !== undefined,
    ),
  ];
}

export function createEdgeSecurity(config: Config, registry: Registry, logger: Logger): Guard {
  const enforced = authEnforced(config);
  if (!enforced) {
    const infrastructure = infrastructureOf(config);
    if (infrastructure.length > 0 && !config.AUTH_DISABLED) {
      throw new ConfigError([
        `${infrastructure.join(", ")} configured but neither API_KEYS nor JWT_ISSUER: set one, or AUTH_DISABLED=true to serve without credentials`,
      ]);
    }
    logger.warn(
      config.AUTH_DISABLED
        ? "authentication disabled (AUTH_DISABLED=true): every operation is open"
        : "no API_KEYS or JWT_ISSUER: every operation is open (fine for local use, not for a deployment)",
      { admin_token: config.ADMIN_TOKEN !== undefined },
    );
  }
  return createGuard(createAuthenticator(config, registry), config.TRUST_PROXY);
}

/** RATE_LIMIT_*: buckets shared by every instance through Redis when REDIS_URL is set, else per process. */
export function installRateLimits(
  guard: Guard,
  config: Config,
  redis: RedisConnection | undefined,
  logger: Logger,
): void {
  const rates = ratesOf(config);
  if (Object.keys(rates).length === 0) return;
  guard.setLimiter(redis ? redisLimiter(rates, redis, logger) : memoryLimiter(rates));
}
