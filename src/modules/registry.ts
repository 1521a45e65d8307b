/**
 * The whole process in one table: every module, what it needs, and what it builds. Roles are
 * composite modules (no init) that pull their modules in; `all` is the union of the roles.
 */
import { Counter } from "prom-client";
import { createDynamoDb, type DynamoDb, probeTables } from "../adapters/dynamodb/client.ts";
import { DynamoProductStore } from "../adapters/dynamodb/products.ts";
import { configuredTables } from "../adapters/dynamodb/tables.ts";
import { MemoryProductStore } from "../adapters/memory/products.ts";
import { createRedis, type RedisConnection } from "../adapters/redis/client.ts";
import { RedisProductCache } from "../adapters/redis/product-cache.ts";
import { type Config, loadConfig } from "../config.ts";
import { type ProductCache, ProductCatalog } from "../domain/product-catalog.ts";
import type { ProductStore } from "../domain/products.ts";
import { createHttp, type HttpCore } from "../http/app.ts";
import { createLogger, errorFields, type Logger } from "../observability/log.ts";
import { createMetrics, type Metrics } from "../observability/metrics.ts";
import { createResilience, type Resilience } from "../resilience/index.ts";
import { registerAdminRoutes } from "../routes/admin/handlers.ts";
import { registerProductRoutes } from "../routes/products/handlers.ts";
import { type HttpServer, serve } from "../runtime.ts";
import { sleep } from "../util/time.ts";
import { VERSION } from "../version.ts";
import { type CommerceModules, commerceModules } from "./commerce.ts";
import type { ModuleTable } from "./graph.ts";

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
}

export function moduleTable(environment: Environment): ModuleTable<Modules> {
  return {
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

    ...commerceModules(),

    api: { deps: ["productsApi", "adminApi", "ordersApi", "commerceApi", "server"] },
    processor: { deps: ["orderProcessor", "server"] },
    bidder: { deps: ["server"] },
    broadcaster: { deps: ["server"] },
    archiver: { deps: ["server"] },
    all: { deps: ["api", "processor", "bidder", "broadcaster", "archiver"] },
  };
}
