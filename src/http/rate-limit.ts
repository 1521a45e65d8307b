/**
 * Token buckets per credential and per client address, one budget each for reads, writes and bids
 * (RATE_LIMIT_*). With REDIS_URL the buckets live in Redis, taken by one atomic script so that every
 * instance draws on the same budget; without it (or while Redis is down) in this process's memory.
 */

import type { RedisConnection } from "../adapters/redis/client.ts";
import type { Config, Rate } from "../config.ts";
import type { Logger } from "../observability/log.ts";
import { ApiError } from "./errors.ts";

export type Budget = "read" | "write" | "bid";

export interface Decision {
  allowed: boolean;
  /** Tokens left in the emptiest bucket. */
  remaining: number;
  /** Seconds until a token is back in every bucket taken from (0 when allowed). */
  retryAfterS: number;
}

export interface RateLimiter {
  /** The budget's rate, or undefined when that budget is unlimited. */
  rate(budget: Budget): Rate | undefined;
  /** Takes one token from each bucket, or none when any is empty. */
  take(budget: Budget, buckets: string[]): Decision | Promise<Decision>;
}

/** Buckets kept in memory at most; the stalest go first (a full bucket and a forgotten one are the same). */
const MEMORY_MAX = 100_000;

/** In memory the answer is at once. */
export interface MemoryLimiter extends RateLimiter {
  take(budget: Budget, buckets: string[]): Decision;
}

export function memoryLimiter(rates: Partial<Record<Budget, Rate>>, now = Date.now): MemoryLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const level = (key: string, r: Rate, t: number) => {
    const b = buckets.get(key);
    if (b === undefined) return r.capacity;
    return Math.min(r.capacity, b.tokens + ((t - b.at) * r.capacity) / r.periodMs);
  };
  return {
    rate: (budget) => rates[budget],
    take: (budget, keys) => {
      const r = rates[budget];
      if (r === undefined) return { allowed: true, remaining: Number.POSITIVE_INFINITY, retryAfterS: 0 };
      const t = now();
      const levels = keys.map((k) => level(`${budget}:${k}`, r, t));
      const lowest = Math.min(...levels);
      if (lowest < 1) {
        return {
          allowed: false,
          remaining: 0,
          retryAfterS: Math.ceil(((1 - lowest) * r.periodMs) / r.capacity / 1000),
        };
      }
      keys.forEach((k, i) => {
        const key = `${budget}:${k}`;
        buckets.delete(key);
        buckets.set(key, { tokens: (levels[i] as number) - 1, at: t });
      });
      while (buckets.size > MEMORY_MAX) {
        const oldest = buckets.keys().next();
        if (oldest.done) break;
        buckets.delete(oldest.value);
      }
      return { allowed: true, remaining: Math.floor(lowest - 1), retryAfterS: 0 };
    },
  };
}

/**
 * KEYS: the buckets; ARGV: capacity, period in ms. Redis's own clock (TIME) so instances with skewed
 * clocks agree. Every bucket is read, and tokens are taken only when all have one: one step, atomic.
 * Returns {allowed 0|1, remaining, retry-after in ms}.
 */
const TAKE = `
local capacity = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local levels = {}
local lowest = capacity
for i, key in ipairs(KEYS) do
  local b = redis.call('HMGET', key, 'tokens', 'at')
  local level = capacity
  if b[1] then
    level = math.min(capacity, tonumber(b[1]) + (now - tonumber(b[2])) * capacity / period)
  end
  levels[i] = level
  if level < lowest then lowest = level end
end
if lowest < 1 then
  return {0, 0, math.ceil((1 - lowest) * period / capacity)}
end
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, 'tokens', tostring(levels[i] - 1), 'at', now)
  redis.call('PEXPIRE', key, period * 2)
end
return {1, math.floor(lowest - 1), 0}
`;

export function redisLimiter(
  rates: Partial<Record<Budget, Rate>>,
  redis: RedisConnection,
  logger: Logger,
): RateLimiter {
  // While Redis is down each instance limits on its own rather than failing requests or letting all through.
  const fallback = memoryLimiter(rates);
  let warned = false;
  return {
    rate: (budget) => rates[budget],
    take: async (budget, keys) => {
      const r = rates[budget];
      if (r === undefined) return fallback.take(budget, keys);
      try {
        const [allowed, remaining, retryMs] = (await redis.policy.execute(() =>
          redis.client.eval(TAKE, {
            keys: keys.map((k) => redis.key(`ratelimit:${budget}:${k}`)),
            arguments: [String(r.capacity), String(r.periodMs)],
          }),
        )) as [number, number, number];
        warned = false;
        return { allowed: allowed === 1, remaining, retryAfterS: Math.ceil(retryMs / 1000) };
      } catch (err) {
        if (!warned) logger.warn("rate limits fall back to this process's memory", { error: String(err) });
        warned = true;
        return fallback.take(budget, keys);
      }
    },
  };
}

export const ratesOf = (config: Config): Partial<Record<Budget, Rate>> => ({
  ...(config.RATE_LIMIT_READ ? { read: config.RATE_LIMIT_READ } : {}),
  ...(config.RATE_LIMIT_WRITE ? { write: config.RATE_LIMIT_WRITE } : {}),
  ...(config.RATE_LIMIT_BID ? { bid: config.RATE_LIMIT_BID } : {}),
});

/** RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers): the budget's name, quota, window. */
export function rateHeaders(budget: Budget, r: Rate, d: Decision): Record<string, string> {
  const w = r.periodMs / 1000;
  return {
    "RateLimit-Policy": `"${budget}";q=${r.capacity};w=${w}`,
    RateLimit: `"${budget}";r=${Math.max(0, d.remaining)};t=${d.retryAfterS}`,
  };
}

export function tooMany(budget: Budget, r: Rate, d: Decision): ApiError {
  return new ApiError(
    429,
    "TOO_MANY_REQUESTS",
    `rate limit of ${r.capacity} ${budget} requests per ${r.periodMs / 1000} s reached`,
    `retry after ${d.retryAfterS} s`,
    { "Retry-After": String(Math.max(1, d.retryAfterS)), ...rateHeaders(budget, r, d) },
  );
}

/**
 * The client's address: with TRUST_PROXY the last X-Forwarded-For entry, the one the load balancer
 * appended (earlier entries are whatever the client sent); otherwise the peer.
 */
export function clientAddress(req: Request, trustProxy: boolean, peer: string | undefined): string {
  if (trustProxy) {
    const forwarded = req.headers.get("x-forwarded-for");
    if (forwarded) {
      const last = forwarded.slice(forwarded.lastIndexOf(",") + 1).trim();
      if (last) return last;
    }
  }
  return peer ?? "unknown";
}
