/**
 * Which auction backend this process uses, decided once: Redis when REDIS_URL is set, else the
 * embedded in-memory book and stream. Memory cannot be shared between processes, so the embedded
 * backend is refused unless bidder, broadcaster and archiver all run in this process: the module
 * graph says which do (`runs`).
 */
import { MemoryBidStream } from "../adapters/memory/auctions.ts";
import type { RedisConnections } from "../adapters/redis/connections.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../observability/log.ts";

export const AUCTION_ROLES = ["bidder", "broadcaster", "archiver"] as const;
type AuctionRole = (typeof AUCTION_ROLES)[number];

export type AuctionBackend =
  | { kind: "memory"; stream: MemoryBidStream }
  | { kind: "redis"; connections: RedisConnections };

export class BackendError extends Error {
  override name = "BackendError";
}

export async function chooseBackend(
  config: Config,
  runs: (role: AuctionRole) => boolean,
  logger: Logger,
): Promise<AuctionBackend> {
  const here = AUCTION_ROLES.filter(runs);
  if (config.REDIS_URL) {
    if (runs("archiver") && !config.DATABASE_URL) {
      throw new BackendError(
        "--role archiver with REDIS_URL needs DATABASE_URL: an in-memory archive in its own process would lose every bid it acknowledges",
      );
    }
    // Imported here: a process without auctions, or with the embedded ones, never loads the Redis client.
    const { RedisConnections } = await import("../adapters/redis/connections.ts");
    return {
      kind: "redis",
      connections: new RedisConnections(
        { url: config.REDIS_URL, password: config.REDIS_PASSWORD, failFast: true },
        logger,
      ),
    };
  }
  const missing = AUCTION_ROLES.filter((r) => !runs(r));
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
