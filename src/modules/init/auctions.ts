/**
 * Inits of the auction roles: the backend (Redis or embedded), book, stream, archive and the workers. Redis,
 * PostgreSQL, the workers and the routes are imported when a module uses them (see platform.ts).
 */
import { hostname } from "node:os";
import { MemoryAuctionBook, MemoryBidArchive } from "../../adapters/memory/auctions.ts";
import type { BidArchive } from "../../domain/auctions.ts";
import { AuctionItems } from "../../services/auction-items.ts";
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

  bidderApi: async ({ get }) => {
    const { registerItemRoutes } = await import("../../routes/items/handlers.ts");
    registerItemRoutes(get("http"), get("auctionItems"), get("config").ADMIN_TOKEN);
    return { value: undefined };
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
