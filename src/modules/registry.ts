/**
 * The whole process in one table: every module, what it needs, and what it builds. Roles are
 * composite modules (no init) that pull their modules in; `all` is the union of the roles.
 */

import { hostname } from "node:os";
import { Counter } from "prom-client";
import { createDynamoDb, type DynamoDb, probeTables } from "../adapters/dynamodb/client.ts";
import { DynamoProductStore } from "../adapters/dynamodb/products.ts";
import { configuredTables } from "../adapters/dynamodb/tables.ts";
import { MemoryAuctionBook, MemoryBidArchive } from "../adapters/memory/auctions.ts";
import { MemoryProductStore } from "../adapters/memory/products.ts";
import { PostgresBidArchive, postgresSettings } from "../adapters/postgres/auctions.ts";
import { RedisAuctionBook, RedisBidStream, redisKeys } from "../adapters/redis/auctions.ts";
import { createRedis, type RedisConnection } from "../adapters/redis/client.ts";
import { RedisProductCache } from "../adapters/redis/product-cache.ts";
import { Archiver } from "../auctions/archiver.ts";
import { type AuctionBackend, chooseBackend } from "../auctions/backend.ts";
import { Broadcaster } from "../auctions/broadcaster.ts";
import { type Config, loadConfig } from "../config.ts";
import type { AuctionBook, BidArchive, BidStream } from "../domain/auctions.ts";
import { type ProductCache, ProductCatalog } from "../domain/product-catalog.ts";
import type { ProductStore } from "../domain/products.ts";
import { createHttp, type HttpCore } from "../http/app.ts";
import { createLogger, errorFields, type Logger } from "../observability/log.ts";
import { createMetrics, type Metrics } from "../observability/metrics.ts";
import { createResilience, type Resilience } from "../resilience/index.ts";
import { registerAdminRoutes } from "../routes/admin/handlers.ts";
import { registerItemRoutes } from "../routes/items/handlers.ts";
import { registerLiveRoutes } from "../routes/live/handlers.ts";
import { registerProductRoutes } from "../routes/products/handlers.ts";
import { type HttpServer, serve } from "../runtime.ts";
import { sleep } from "../util/time.ts";
import { VERSION } from "../version.ts";
import { type CommerceModules, commerceModules } from "./commerce.ts";
import { type ModuleTable, resolveOrder } from "./graph.ts";

export interface Modules extends CommerceModules {
  config: Config;
  logger: Logger & { flush(): void };
  metrics: Metrics;
  http: HttpCore;
  /** Listens last and stops first among the request-serving modules; worker modules depend on it. */
  server: { port(): number | undefined };
  resilience: Resilience;
  /** The shared DynamoDB client and policy, when any *_TABLE is configured. */
  dynamodb: DynamoDb | undefined;
  /** The shared Redis connection, when REDIS_URL is set. */
  redis: RedisConnection | undefined;
  productStore: ProductStore;
  productCache: ProductCache | undefined;
  productCatalog: ProductCatalog;
  productsApi: undefined;
  /** GET/PUT/DELETE /admin/faults, registered only when ADMIN_TOKEN is set. */
  adminApi: undefined;
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
              fetch: http.fetch,
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
    resilience: {
      deps: ["config", "logger", "metrics"],
      init: ({ get }) => {
        const resilience = createResilience(get("config").FAULTS, get("metrics").registry, get("logger"));
        return { value: resilience, ready: () => resilience.states() };
      },
    },
    dynamodb: {
      deps: ["config", "resilience"],
      init: ({ get }) => {
        const config = get("config");
        if (configuredTables(config).length === 0) return { value: undefined };
        const db = createDynamoDb(config, get("resilience"));
        return { value: db, ready: () => probeTables(db, config, 1000) };
      },
    },
    redis: {
      deps: ["config", "resilience", "logger"],
      init: ({ get }) => {
        const config = get("config");
        const { REDIS_URL } = config;
        if (REDIS_URL === undefined) return { value: undefined };
        return createRedis({ ...config, REDIS_URL }, get("resilience"), get("logger"));
      },
    },
    productStore: {
      deps: ["config", "dynamodb"],
      init: ({ get }) => {
        const table = get("config").PRODUCTS_TABLE;
        const db = get("dynamodb");
        return { value: table && db ? new DynamoProductStore(db, table) : new MemoryProductStore() };
      },
    },
    productCache: {
      deps: ["config", "redis"],
      init: ({ get }) => {
        const redis = get("redis");
        const config = get("config");
        return {
          value: redis
            ? new RedisProductCache(redis, config.PRODUCT_CACHE_TTL_S, config.PRODUCT_CACHE_NEGATIVE_TTL_S)
            : undefined,
        };
      },
    },
    productCatalog: {
      deps: ["productStore", "productCache", "logger"],
      init: ({ get }) => {
        const logger = get("logger");
        // Cache failures are counted by the redis policy's metrics; the line is for debugging one request.
        const onCacheError = (err: unknown) => logger.debug("product cache bypassed", errorFields(err));
        return { value: new ProductCatalog(get("productStore"), get("productCache"), onCacheError) };
      },
    },
    productsApi: {
      deps: ["http", "productCatalog", "metrics"],
      init: ({ get }) => {
        const cacheResults = new Counter({
          name: "product_cache_requests_total",
          help: "Product reads by cache result: hit, miss (filled from the store) or bypass (cache unavailable)",
          labelNames: ["result"] as const,
          registers: [get("metrics").registry],
        });
        registerProductRoutes(get("http"), get("productCatalog"), cacheResults);
        return { value: undefined };
      },
    },
    adminApi: {
      deps: ["http", "config", "resilience"],
      init: ({ get }) => {
        const token = get("config").ADMIN_TOKEN;
        if (token !== undefined) registerAdminRoutes(get("http"), token, get("resilience").faults);
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
          ? new PostgresBidArchive(postgresSettings(config))
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
        registerItemRoutes(get("http"), get("auctionBook"), get("config").ADMIN_TOKEN, get("logger"));
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
        registerLiveRoutes(get("http"), get("auctionBook"), broadcaster, logger);
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

    ...commerceModules(),

    api: { deps: ["productsApi", "adminApi", "ordersApi", "commerceApi", "server"] },
    processor: { deps: ["orderProcessor", "server"] },
    bidder: { deps: ["bidderApi", "server"] },
    broadcaster: { deps: ["liveFeed", "server"] },
    archiver: { deps: ["archiveWorker", "server"] },
    all: { deps: ["api", "processor", "bidder", "broadcaster", "archiver"] },
  };
  return table;
}
