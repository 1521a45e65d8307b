/**
 * Every Redis connection of the process comes from `createRedisClient`: node-redis with a bounded,
 * jittered reconnect, errors logged per outage instead of crashing (node-redis throws on an unhandled
 * `error` event), and a name CLIENT LIST shows. The shared connection (product cache) and the auction
 * connections differ only in how their modules start them.
 */
import { createClient, createClientPool } from "redis";
import { redact } from "../../config.ts";
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
    socket: {
      connectTimeout: 1000,
      // Backs off to 2 s between attempts, with jitter so a fleet does not reconnect in lockstep.
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000) * (0.5 + Math.random() / 2),
    },
  };
}

const newClient = (settings: RedisSettings, name: string) =>
  createClient({ ...options(settings), name: `shop-${name}` });
const newPool = (settings: RedisSettings, size: number) =>
  createClientPool(options(settings), { minimum: 1, maximum: size, acquireTimeout: 5000 });
export type Redis = ReturnType<typeof newClient>;
export type RedisPool = ReturnType<typeof newPool>;

/** A client that reconnects on its own; callers see failed commands meanwhile. */
export function createRedisClient(settings: RedisSettings, logger: Logger, name: string): Redis {
  const client = newClient(settings, name);
  let up = false;
  client.on("ready", () => {
    up = true;
    logger.info("redis connected", { connection: name });
  });
  client.on("error", (err: Error) => {
    // node-redis emits an error per failed reconnect attempt: log the transition, not every attempt.
    if (up) logger.warn("redis connection lost", { connection: name, error: err.message });
    up = false;
  });
  return client;
}

export function createRedisPool(settings: RedisSettings, logger: Logger, size: number): RedisPool {
  const pool = newPool(settings, size);
  pool.on("error", (err: Error) => logger.warn("redis pool error", { error: err.message }));
  return pool;
}

const CONNECT_TIMEOUT_MS = 5000;

/** A set of connections opened for one purpose (the auction modules), connected at start and closed at stop. */
export class RedisConnections {
  private readonly clients: Redis[] = [];
  private pool: RedisPool | undefined;

  constructor(
    private readonly settings: RedisSettings,
    private readonly logger: Logger,
  ) {}

  /** A connection of its own: blocking readers must not share one with request traffic. */
  open(name: string, failFast: boolean): Redis {
    const client = createRedisClient({ ...this.settings, failFast }, this.logger, name);
    this.clients.push(client);
    return client;
  }

  openPool(size: number): RedisPool {
    this.pool ??= createRedisPool({ ...this.settings, failFast: true }, this.logger, size);
    return this.pool;
  }

  /** Bounded: node-redis would retry forever, and a process that cannot reach Redis at start should say so and exit. */
  async connect(timeoutMs = CONNECT_TIMEOUT_MS): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `Redis at ${redact("REDIS_URL", this.settings.url)} not reachable within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([
        Promise.all([...this.clients.map((c) => c.connect()), this.pool?.connect()]),
        timeout,
      ]);
    } catch (err) {
      for (const c of this.clients) c.destroy();
      this.pool?.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => (c.isOpen ? c.close() : undefined)));
    if (this.pool?.isOpen) await this.pool.close();
  }
}
