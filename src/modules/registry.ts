/**
 * The whole process in one table: every module, what it needs, and what it builds. Roles are
 * composite modules (no init) that pull their modules in; `all` is the union of the roles.
 */
import { hostname } from "node:os";
import { MemoryAuctionBook, MemoryBidArchive } from "../adapters/memory/auctions.ts";
import { MemoryProductStore } from "../adapters/memory/products.ts";
import { PostgresBidArchive } from "../adapters/postgres/auctions.ts";
import { RedisAuctionBook, RedisBidStream, redisKeys } from "../adapters/redis/auctions.ts";
import { Archiver } from "../auctions/archiver.ts";
import { type AuctionBackend, chooseBackend } from "../auctions/backend.ts";
import { Broadcaster } from "../auctions/broadcaster.ts";
import { type Config, loadConfig } from "../config.ts";
import type { AuctionBook, BidArchive, BidStream } from "../domain/auctions.ts";
import type { ProductStore } from "../domain/products.ts";
import { createHttp, type HttpCore } from "../http/app.ts";
import { createLogger, type Logger } from "../observability/log.ts";
import { createMetrics, type Metrics } from "../observability/metrics.ts";
import { registerItemRoutes } from "../routes/items/handlers.ts";
import { registerLiveRoutes } from "../routes/live/handlers.ts";
import { registerProductRoutes } from "../routes/products/handlers.ts";
import { type HttpServer, serve } from "../runtime.ts";
import { sleep } from "../util/time.ts";
import { VERSION } from "../version.ts";
import { type ModuleTable, resolveOrder } from "./graph.ts";

export interface Modules {
  config: Config;
  logger: Logger & { flush(): void };
  metrics: Metrics;
  http: HttpCore;
  /** Listens last and stops first among the request-serving modules; worker modules depend on it. */
  server: { port(): number | undefined };
  productStore: ProductStore;
  productsApi: undefined;
  auctionBackend: AuctionBackend;
  auctionBook: AuctionBook;
  bidStream: BidStream;
  bidArchive: BidArchive;
  bidderApi: undefined;
  /** The broadcaster role's worker: stream reader, WebSocket fan-out and the live page. */
  liveFeed: Broadcaster;
  /** The archiver role's worker: consumer group → archive. */
  archiveWorker: Archiver;
  // roles
  api: undefined;
  processor: undefined;
  bidder: undefined;
  broadcaster: undefined;
  archiver: undefined;
  all: undefined;
}

export type ModuleName = keyof Modules & string;

export const ROLES = ["api", "processor", "bidder", "broadcaster", "archiver", "all"] as const;
export type Role = (typeof ROLES)[number];

export interface Environment {
  env: Record<string, string | undefined>;
  /** Where log lines go; tests capture them. */
  write?: (text: string) => void;
  /** The roles this process runs; modules whose state must be shared check who runs beside them. */
  roles?: readonly Role[];
}

export function moduleTable(environment: Environment): ModuleTable<Modules> {
  const table: ModuleTable<Modules> = {
    config: { deps: [], init: () => ({ value: loadConfig(environment.env) }) },
    logger: {
      deps: ["config"],
      init: ({ get }) => {
        const logger = createLogger(get("config").LOG_LEVEL, environment.write);
        return { value: logger, stop: () => logger.flush() };
      },
    },
    metrics: { deps: [], init: () => ({ value: createMetrics() }) },
    http: {
      deps: ["config", "logger", "metrics"],
      init: ({ get }) => ({
        value: createHttp({
          logger: get("logger"),
          metrics: get("metrics"),
          bodyLimitBytes: get("config").BODY_LIMIT_BYTES,
          title: "shop",
          version: VERSION,
        }),
      }),
    },
    server: {
      deps: ["config", "http", "logger"],
      init: ({ get }) => {
        const config = get("config");
        const http = get("http");
        const logger = get("logger");
        let server: HttpServer | undefined;
        return {
          value: { port: () => server?.port },
          start: () => {
            server = serve({
              port: config.PORT,
              hostname: config.HOST,
              maxRequestBodySize: config.BODY_LIMIT_BYTES,
              websocket: { sendBufferBytes: config.WS_SEND_BUFFER_BYTES, pingMs: config.WS_PING_MS },
              fetch: http.app.fetch,
            });
            logger.info("listening", { port: server.port, host: config.HOST });
          },
          stop: async () => {
            await server?.stop();
            // The runtime's stop resolves when sockets close; in-flight handlers are counted by the app itself.
            while (http.inFlight() > 0) await sleep(5);
          },
        };
      },
    },
    productStore: { deps: [], init: () => ({ value: new MemoryProductStore() }) },
    productsApi: {
      deps: ["http", "productStore"],
      init: ({ get }) => {
        registerProductRoutes(get("http").app, get("productStore"));
        return { value: undefined };
      },
    },

    auctionBackend: {
      deps: ["config", "logger"],
      init: ({ get }) => {
        const selected = new Set<string>(resolveOrder(table, environment.roles ?? ["all"]));
        const backend = chooseBackend(get("config"), selected, get("logger"));
        if (backend.kind === "memory") return { value: backend };
        const { connections } = backend;
        return { value: backend, start: () => connections.connect(), stop: () => connections.close() };
      },
    },
    auctionBook: {
      deps: ["config", "auctionBackend"],
      init: ({ get }) => {
        const backend = get("auctionBackend");
        if (backend.kind === "memory") return { value: new MemoryAuctionBook(backend.stream) };
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
    },
    bidStream: {
      deps: ["config", "auctionBackend"],
      init: ({ get }) => {
        const backend = get("auctionBackend");
        if (backend.kind === "memory") return { value: backend.stream };
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
    },
    bidArchive: {
      deps: ["config"],
      init: ({ get }) => {
        const config = get("config");
        const archive: BidArchive = config.DATABASE_URL
          ? new PostgresBidArchive({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, poolSize: 4 })
          : new MemoryBidArchive();
        return {
          value: archive,
          start: () => archive.migrate(),
          stop: () => archive.close(),
          ...(archive.ready ? { ready: () => archive.ready?.() } : {}),
        };
      },
    },
    bidderApi: {
      deps: ["config", "logger", "http", "auctionBook"],
      init: ({ get }) => {
        registerItemRoutes(get("http").app, get("auctionBook"), get("config").ADMIN_TOKEN, get("logger"));
        return { value: undefined };
      },
    },
    liveFeed: {
      // After "server": it starts once the server listens and closes its sockets before the server stops.
      deps: ["logger", "metrics", "http", "server", "auctionBook", "bidStream"],
      init: ({ get }) => {
        const logger = get("logger").child({ module: "broadcaster" });
        const broadcaster = new Broadcaster(
          get("bidStream"),
          get("auctionBook"),
          logger,
          get("metrics").registry,
        );
        registerLiveRoutes(get("http").app, get("auctionBook"), broadcaster, logger);
        return { value: broadcaster, start: () => broadcaster.start(), stop: () => broadcaster.stop() };
      },
    },
    archiveWorker: {
      deps: ["config", "logger", "metrics", "server", "bidStream", "bidArchive"],
      init: ({ get }) => {
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
    },

    api: { deps: ["productsApi", "server"] },
    processor: { deps: ["server"] },
    bidder: { deps: ["bidderApi", "server"] },
    broadcaster: { deps: ["liveFeed", "server"] },
    archiver: { deps: ["archiveWorker", "server"] },
    all: { deps: ["api", "processor", "bidder", "broadcaster", "archiver"] },
  };
  return table;
}
