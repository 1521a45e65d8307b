import { createClient, createClientPool } from "redis";
import type { Logger } from "../../observability/log.ts";

export interface RedisSettings {
  url: string;
  password: string | undefined;
  /** Fail commands at once while disconnected (request paths answer 503) instead of queueing them. */
  failFast: boolean;
}

function options(settings: RedisSettings) {
  return {
    url: settings.url,
    ...(settings.password === undefined ? {} : { password: settings.password }),
    disableOfflineQueue: settings.failFast,
  };
}

const newClient = (settings: RedisSettings, name?: string) =>
  createClient({ ...options(settings), ...(name ? { name } : {}) });
const newPool = (settings: RedisSettings, size: number) =>
  createClientPool(options(settings), { minimum: 1, maximum: size, acquireTimeout: 5000 });
export type Redis = ReturnType<typeof newClient>;
export type RedisPool = ReturnType<typeof newPool>;

/**
 * A client that logs connection errors instead of crashing (node-redis throws on an unhandled
 * `error` event) and reconnects on its own; callers see failed commands meanwhile.
 */
export function createRedis(settings: RedisSettings, logger: Logger, name: string): Redis {
  // Named so CLIENT LIST shows which connection does what (book, blocking readers).
  const client = newClient(settings, `shop-${name}`);
  let lastLogged = 0;
  client.on("error", (err: Error) => {
    // A reconnect loop emits one error per attempt: one line a second is enough to see the outage.
    const now = Date.now();
    if (now - lastLogged >= 1000) {
      lastLogged = now;
      logger.warn("redis connection error", { connection: name, error: err.message });
    }
  });
  return client;
}

export function createRedisPool(settings: RedisSettings, logger: Logger, size: number): RedisPool {
  const pool = newPool(settings, size);
  pool.on("error", (err: Error) => logger.warn("redis pool error", { error: err.message }));
  return pool;
}
