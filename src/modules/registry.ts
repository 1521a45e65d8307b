/**
 * The whole process in one table: every module, what it needs, and what it builds. Roles are
 * composite modules (no init) that pull their modules in; `all` is the union of the roles.
 */
import { MemoryProductStore } from "../adapters/memory/products.ts";
import { type Config, loadConfig } from "../config.ts";
import type { ProductStore } from "../domain/products.ts";
import { createHttp, type HttpCore } from "../http/app.ts";
import { createLogger, type Logger } from "../observability/log.ts";
import { createMetrics, type Metrics } from "../observability/metrics.ts";
import { createResilience, type Resilience } from "../resilience/index.ts";
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
  productStore: ProductStore;
  productsApi: undefined;
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
    resilience: {
      deps: ["config", "logger", "metrics"],
      init: ({ get }) => {
        const resilience = createResilience(get("config").FAULTS, get("metrics").registry, get("logger"));
        return { value: resilience, ready: () => resilience.states() };
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

    ...commerceModules(environment),

    api: { deps: ["productsApi", "ordersApi", "commerceApi", "server"] },
    processor: { deps: ["orderProcessor", "server"] },
    bidder: { deps: ["server"] },
    broadcaster: { deps: ["server"] },
    archiver: { deps: ["server"] },
    all: { deps: ["api", "processor", "bidder", "broadcaster", "archiver"] },
  };
}
