/**
 * Inits of the auction roles: the backend (Redis or embedded), book, stream, archive and the workers. Redis,
 * PostgreSQL, the workers and the routes are imported when a module uses them (see platform.ts).
 */
import { hostname } from "node:os";
import { MemoryAuctionBook, MemoryBidArchive } from "../../adapters/memory/auctions.ts";
import { AuctionCloser } from "../../auctions/closer.ts";
import type { BidArchive } from "../../domain/auctions.ts";
import { AuctionHistory, AuctionItems } from "../../services/auction-items.ts";
import { AuctionSettlement } from "../../services/auction-settlement.ts";
import { chooseBackend } from "../auction-backend.ts";
import type { AreaInits } from "../registry.ts";

export const auctionInits = {
  auctionBackend: async ({ get, runs }) => {
    const backend = await chooseBackend(get("config"), runs, get("logger"));
    if (backend.kind === "memory") return { value: backend };
    const { connections } = backend;
    return { value: backend, start: () => connections.connect(), stop: () => connections.close() };
  },

  auctionBook: async ({ get }) => {
    const backend = get("auctionBackend");
    if (backend.kind === "memory") return { value: new MemoryAuctionBook(backend.stream) };
    const { RedisAuctionBook, redisKeys } = await import("../../adapters/redis/auctions.ts");
    const config = get("config");
    const optimistic = config.BID_STRATEGY === "optimistic";
    const book = new RedisAuctionBook(
      backend.connections.open("book", true),
      redisKeys(config.REDIS_KEY_PREFIX),
      config.BID_STRATEGY,
      optimistic ? backend.connections.openPool(config.BID_OPTIMISTIC_POOL) : undefined,
      config.BID_OPTIMISTIC_RETRIES,
    );
    return { value: book, ready: () => book.ready() };
  },

  bidStream: async ({ get }) => {
    const backend = get("auctionBackend");
    if (backend.kind === "memory") return { value: backend.stream };
    const { RedisBidStream, redisKeys } = await import("../../adapters/redis/auctions.ts");
    const { connections } = backend;
    // Blocking readers wait out a Redis outage in their own retry loops, so they may queue offline.
    const stream = new RedisBidStream(
      connections.open("stream", true),
      connections.open("stream-tail", false),
      connections.open("stream-group", false),
      redisKeys(get("config").REDIS_KEY_PREFIX),
    );
    return { value: stream };
  },

  bidArchive: async ({ get }) => {
    const config = get("config");
    const postgres = config.DATABASE_URL ? await import("../../adapters/postgres/auctions.ts") : undefined;
    const archive: BidArchive = postgres
      ? new postgres.PostgresBidArchive(postgres.postgresSettings(config))
      : new MemoryBidArchive();
    return {
      value: archive,
      start: () => archive.migrate(),
      stop: () => archive.close(),
      ...(archive.ready ? { ready: () => archive.ready?.() } : {}),
    };
  },

  auctionItems: ({ get }) => ({ value: new AuctionItems(get("auctionBook"), get("logger")) }),

  bidHistory: async ({ get }) => {
    const config = get("config");
    if (!config.DATABASE_URL) {
      return { value: new AuctionHistory(get("auctionItems"), get("auctionBook"), get("logger")) };
    }
    const { PostgresBidArchive, postgresSettings } = await import("../../adapters/postgres/auctions.ts");
    // A reader of the archive: one connection is plenty, and migrating first (idempotent, under the
    // archiver's advisory lock) means the tables exist before the first read.
    const archive = new PostgresBidArchive({ ...postgresSettings(config), poolSize: 2 });
    return {
      value: new AuctionHistory(get("auctionItems"), archive, get("logger")),
      start: () => archive.migrate(),
      stop: () => archive.close(),
      ready: () => archive.ready(),
    };
  },

  bidderApi: async ({ get }) => {
    const { registerItemRoutes } = await import("../../routes/items/handlers.ts");
    registerItemRoutes(get("http"), get("auctionItems"), get("bidHistory"));
    return { value: undefined };
  },

  auctionCloser: ({ get, runs }) => {
    const config = get("config");
    const logger = get("logger").child({ module: "closer" });
    const orders = get("orders");
    if (!orders.acceptsAsync()) {
      logger.warn(
        "auction wins stay settlement_status pending: no processor consumes orders in this process " +
          "(run --role bidder,processor or all, or set ORDERS_TABLE and SNS_TOPIC_ARN/SQS_QUEUE_URL)",
      );
    } else if (!runs("orderProcessor") && !config.ORDERS_TABLE) {
      logger.warn(
        "auction wins stay pending: a separate processor cannot read this process's in-memory orders; set ORDERS_TABLE",
      );
    }
    const book = get("auctionBook");
    const settlement = new AuctionSettlement(
      book,
      orders,
      { pollMs: config.AUCTION_SETTLE_POLL_MS, retryMs: Math.max(1000, config.AUCTION_SETTLE_POLL_MS) },
      logger,
    );
    const closer = new AuctionCloser(
      book,
      settlement,
      {
        batch: config.AUCTION_CLOSE_BATCH,
        pollMs: config.AUCTION_CLOSE_POLL_MS,
        leaseMs: config.AUCTION_SETTLE_LEASE_MS,
      },
      logger,
      get("metrics").registry,
    );
    return { value: closer, start: () => closer.start(), stop: () => closer.stop() };
  },

  liveFeed: async ({ get }) => {
    const [{ Broadcaster }, { registerLiveRoutes }] = await Promise.all([
      import("../../auctions/broadcaster.ts"),
      import("../../routes/live/handlers.ts"),
    ]);
    const logger = get("logger").child({ module: "broadcaster" });
    const broadcaster = new Broadcaster(
      get("bidStream"),
      get("auctionBook"),
      logger,
      get("metrics").registry,
    );
    registerLiveRoutes(get("http"), get("auctionItems"), broadcaster);
    return { value: broadcaster, start: () => broadcaster.start(), stop: () => broadcaster.stop() };
  },

  archiveWorker: async ({ get }) => {
    const { Archiver } = await import("../../auctions/archiver.ts");
    const config = get("config");
    const archiver = new Archiver(
      get("bidStream"),
      get("bidArchive"),
      {
        consumer: `${hostname()}-${process.pid}`,
        batch: config.ARCHIVER_BATCH,
        claimIdleMs: config.ARCHIVER_CLAIM_IDLE_MS,
        retainMs: config.STREAM_RETAIN_MS,
      },
      get("logger").child({ module: "archiver" }),
      get("metrics").registry,
    );
    return { value: archiver, start: () => archiver.start(), stop: () => archiver.stop() };
  },
} satisfies AreaInits;
