/**
 * Which auction backend this process uses, decided once: Redis when REDIS_URL is set, else the
 * embedded in-memory book and stream. Memory cannot be shared between processes, so the embedded
 * backend is refused unless bidder, broadcaster and archiver all run in this process.
 */
import { MemoryBidStream } from "../adapters/memory/auctions.ts";
import {
  createRedis,
  createRedisPool,
  type Redis,
  type RedisPool,
  type RedisSettings,
} from "../adapters/redis/connections.ts";
import { type Config, redact } from "../config.ts";
import type { Logger } from "../observability/log.ts";

const CONNECT_TIMEOUT_MS = 5000;

export const AUCTION_ROLES = ["bidder", "broadcaster", "archiver"] as const;

export type AuctionBackend =
  | { kind: "memory"; stream: MemoryBidStream }
  | { kind: "redis"; connections: RedisConnections };

/** Every Redis connection the auction modules open, connected at start and closed at stop. */
export class RedisConnections {
  private readonly clients: Redis[] = [];
  private pool: RedisPool | undefined;

  constructor(
    private readonly settings: RedisSettings,
    private readonly logger: Logger,
  ) {}

  /** A connection of its own: blocking readers must not share one with request traffic. */
  open(name: string, failFast: boolean): Redis {
    const client = createRedis({ ...this.settings, failFast }, this.logger, name);
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

export class BackendError extends Error {
  override name = "BackendError";
}

/** `selected` is every module this process runs (roles included), to check who shares the memory. */
export function chooseBackend(config: Config, selected: ReadonlySet<string>, logger: Logger): AuctionBackend {
  const here = AUCTION_ROLES.filter((r) => selected.has(r));
  if (config.REDIS_URL) {
    if (selected.has("archiver") && !config.DATABASE_URL) {
      throw new BackendError(
        "--role archiver with REDIS_URL needs DATABASE_URL: an in-memory archive in its own process would lose every bid it acknowledges",
      );
    }
    return {
      kind: "redis",
      connections: new RedisConnections(
        { url: config.REDIS_URL, password: config.REDIS_PASSWORD, failFast: true },
        logger,
      ),
    };
  }
  const missing = AUCTION_ROLES.filter((r) => !selected.has(r));
  if (missing.length > 0) {
    throw new BackendError(
      `--role ${here.join(",")} needs REDIS_URL: without it bids live in this process's memory, which ` +
        `${missing.join(" and ")} in another process cannot see. Set REDIS_URL, or run ` +
        `--role ${AUCTION_ROLES.join(",")} (or all) in one process.`,
    );
  }
  const archive = config.DATABASE_URL ? "PostgreSQL archive" : "in-memory archive";
  logger.info(`auctions on embedded defaults: in-memory book, in-process stream, ${archive}`, {
    hint: "set REDIS_URL and DATABASE_URL to run bidder, broadcaster and archiver as separate processes",
  });
  return { kind: "memory", stream: new MemoryBidStream() };
}
