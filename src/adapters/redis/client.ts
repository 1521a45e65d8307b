/**
 * The process's shared Redis connection (the product cache's). It never blocks startup and reconnects
 * on its own after an outage; commands fail at once while it is down (no offline queue), so callers can
 * fall back instead of waiting.
 */
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  ErrorReply,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
} from "redis";
import type { Config } from "../../config.ts";
import type { Logger } from "../../observability/log.ts";
import type { Resilience } from "../../resilience/index.ts";
import { type DependencyPolicy, isNetworkError, type PolicyOptions } from "../../resilience/policy.ts";
import { sleep } from "../../util/time.ts";
import { createRedisClient, type Redis } from "./connections.ts";

export interface RedisConnection {
  client: Redis;
  /** REDIS_KEY_PREFIX followed by `key`. */
  key(key: string): string;
  /** Every call goes through it; short timeout, no retry: callers have a fallback. */
  policy: DependencyPolicy;
}

/** Replies a healthy server gives while it loads, fails over or is busy: worth another try later. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY)\b/;

export function isRedisTransient(err: unknown): boolean {
  if (isNetworkError(err)) return true;
  if (err instanceof ErrorReply) return TRANSIENT_REPLY.test(err.message);
  return [
    ClientClosedError,
    ClientOfflineError,
    ConnectionTimeoutError,
    ReconnectStrategyError,
    SocketClosedUnexpectedlyError,
    SocketTimeoutError,
    TimeoutError,
  ].some((cls) => err instanceof cls);
}

export const REDIS_POLICY: PolicyOptions = {
  timeoutMs: 100,
  maxAttempts: 1,
  initialDelayMs: 0,
  maxDelayMs: 0,
  breakAfter: 3,
  halfOpenAfterMs: 1000,
  isTransient: isRedisTransient,
};

const CONNECT_WAIT_MS = 1000;
const PING_TIMEOUT_MS = 500;

export interface RedisModule {
  value: RedisConnection;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Reports the connection; never throws, because the users so far can serve without Redis. */
  ready(): Promise<{ status: "up" } | { status: "down"; error: string }>;
}

export function createSharedRedis(
  config: Config & { REDIS_URL: string },
  resilience: Resilience,
  logger: Logger,
): RedisModule {
  const client = createRedisClient(
    { url: config.REDIS_URL, password: config.REDIS_PASSWORD, failFast: true },
    logger,
    "shared",
  );
  const prefix = config.REDIS_KEY_PREFIX;
  return {
    value: { client, key: (k) => prefix + k, policy: resilience.policy("redis", REDIS_POLICY) },
    start: async () => {
      // Waits briefly so the first requests find the cache, but a Redis outage does not block startup.
      const connecting = client.connect().catch(() => {});
      await Promise.race([connecting, sleep(CONNECT_WAIT_MS)]);
    },
    stop: async () => {
      if (client.isOpen) client.destroy();
    },
    ready: async () => {
      try {
        await client.withAbortSignal(AbortSignal.timeout(PING_TIMEOUT_MS)).ping();
        return { status: "up" };
      } catch (err) {
        return { status: "down", error: err instanceof Error ? err.message : String(err) };
      }
    },
  };
}
