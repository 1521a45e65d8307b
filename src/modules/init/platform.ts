/**
 * Inits of the process's platform: configuration, logs, metrics, HTTP, resilience and shared clients.
 * What loads a framework, an SDK or a driver (HTTP, DynamoDB, Redis, the admin routes) is imported when its
 * module is initialised, so a process evaluates only the code its roles use (docs/benchmarks.md, cold start).
 */
import { configuredTables } from "../../adapters/dynamodb/tables.ts";
import { loadConfig } from "../../config.ts";
import { authEnforced } from "../../http/security.ts";
import { createLogger } from "../../observability/log.ts";
import { createMetrics } from "../../observability/metrics.ts";
import { installTracing } from "../../observability/tracing.ts";
import { createResilience } from "../../resilience/index.ts";
import { type HttpServer, serve } from "../../runtime.ts";
import { sleep } from "../../util/time.ts";
import { VERSION } from "../../version.ts";
import { LAMBDA_ROOTS, type ModuleName } from "../deps.ts";
import type { AreaInits, Environment } from "../registry.ts";

/** Spans still queued at stop get this long to reach the collector; a collector that is down must not hold up exit. */
const TRACING_FLUSH_MS = 2000;

/** The role a root stands for: on Lambda the roots are the role's Lambda modules (`shop-processor` either way). */
const roleOf = (root: ModuleName): string =>
  Object.entries(LAMBDA_ROOTS).find(([, modules]) => (modules as readonly string[]).includes(root))?.[0] ??
  root;

export const platformInits = (environment: Environment, roots: readonly ModuleName[]) =>
  ({
    config: () => ({ value: loadConfig(environment.env) }),

    logger: ({ get }) => {
      const logger = createLogger(get("config").LOG_LEVEL, environment.write);
      return { value: logger, stop: () => logger.flush() };
    },

    metrics: () => ({ value: createMetrics() }),

    tracing: async ({ get }) => {
      const config = get("config");
      if (config.OTEL_EXPORTER_OTLP_ENDPOINT === undefined) return { value: undefined };
      const { createTracing } = await import("../../observability/tracing-sdk.ts");
      const tracing = createTracing(config, {
        serviceName: config.OTEL_SERVICE_NAME ?? `shop-${roots.map(roleOf).join("-")}`,
        serviceVersion: VERSION,
        registry: get("metrics").registry,
        logger: get("logger"),
      });
      installTracing(tracing);
      return {
        value: undefined,
        stop: async () => {
          installTracing(undefined);
          await tracing.shutdown(TRACING_FLUSH_MS);
        },
      };
    },

    http: async ({ get }) => {
      const config = get("config");
      const logger = get("logger");
      const [{ createHttp }, { createEdgeSecurity }] = await Promise.all([
        import("../../http/app.ts"),
        import("../../http/edge-security.ts"),
      ]);
      const guard = createEdgeSecurity(config, get("metrics").registry, logger);
      return {
        value: createHttp({
          logger,
          metrics: get("metrics"),
          bodyLimitBytes: config.BODY_LIMIT_BYTES,
          accessLog: { slowMs: config.LOG_SLOW_MS, sampleRate: config.LOG_SAMPLE_RATE },
          title: "shop",
          version: VERSION,
          guard,
        }),
      };
    },

    server: ({ get }) => {
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

    resilience: ({ get }) => {
      const resilience = createResilience(get("config").FAULTS, get("metrics").registry, get("logger"));
      return { value: resilience, ready: () => resilience.states() };
    },

    dynamodb: async ({ get }) => {
      const config = get("config");
      if (configuredTables(config).length === 0) return { value: undefined };
      const { createDynamoDb, probeTables } = await import("../../adapters/dynamodb/client.ts");
      const db = createDynamoDb(config, get("resilience"));
      return { value: db, ready: () => probeTables(db, config, 1000) };
    },

    redis: async ({ get }) => {
      const config = get("config");
      const { REDIS_URL } = config;
      if (REDIS_URL === undefined) return { value: undefined };
      const { createSharedRedis } = await import("../../adapters/redis/client.ts");
      return createSharedRedis({ ...config, REDIS_URL }, get("resilience"), get("logger"));
    },

    rateLimits: async ({ get }) => {
      const { installRateLimits } = await import("../../http/edge-security.ts");
      installRateLimits(get("http").guard, get("config"), get("redis"), get("logger"));
      return { value: undefined };
    },

    adminApi: async ({ get }) => {
      const config = get("config");
      // Open without credentials, /admin/* would let anyone inject faults: it exists only where something guards it.
      if (config.ADMIN_TOKEN !== undefined || authEnforced(config)) {
        const { registerAdminRoutes } = await import("../../routes/admin/handlers.ts");
        registerAdminRoutes(get("http"), get("resilience").faults);
      }
      return { value: undefined };
    },
  }) satisfies AreaInits;
