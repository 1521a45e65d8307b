import { OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { matchedRoutes } from "hono/route";
import type { Readiness } from "../modules/graph.ts";
import type { Logger } from "../observability/log.ts";
import { errorFields } from "../observability/log.ts";
import type { Metrics } from "../observability/metrics.ts";
import { ApiError, describeIssues, type ErrorBody } from "./errors.ts";
import { isJsonContentType } from "./route.ts";

export type AppEnv = { Variables: { requestId: string } };
export type App = OpenAPIHono<AppEnv>;

export interface HttpCore {
  app: App;
  /** Requests being served right now: shutdown waits for this to reach zero. */
  inFlight(): number;
  /** Set by the process lifecycle: false while starting and once draining, so /ready answers 503. */
  setAccepting(accepting: boolean): void;
  /** Probes every module's dependency; the lifecycle installs it once the module graph exists. */
  setProbe(probe: () => Promise<Readiness>): void;
  /** A logger that carries the request id, for handlers that log. */
  log(c: Context): Logger;
}

const targetNames: Record<string, string> = {
  param: "Invalid path parameter",
  json: "Invalid request body",
  query: "Invalid query parameter",
  header: "Invalid header",
};

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request ids: a random per-process prefix and a counter. Unique across processes like a UUID, but
 * crypto.randomUUID() per request was a tenth of the CPU time of a product read.
 */
const idPrefix = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) =>
  b.toString(16).padStart(2, "0"),
).join("");
let idCounter = 0;
const nextRequestId = () => `${idPrefix}-${(++idCounter).toString(36)}`;

export function errorJson(c: Context, err: ApiError): Response {
  if (err.headers) for (const [k, val] of Object.entries(err.headers)) c.header(k, val);
  return c.json(err.body(), err.status);
}

export function createHttp(opts: {
  logger: Logger;
  metrics: Metrics;
  bodyLimitBytes: number;
  title: string;
  version: string;
}): HttpCore {
  const { logger, metrics } = opts;
  let inFlight = 0;
  let accepting = false;
  let probe: () => Promise<Readiness> = async () => ({ failures: {}, checks: {} });

  const app: App = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const err = new ApiError(
          400,
          "INVALID_INPUT",
          targetNames[result.target] ?? "Invalid input",
          describeIssues(result.error.issues),
        );
        return errorJson(c, err);
      }
    },
  });

  const limitBody = bodyLimit({
    maxSize: opts.bodyLimitBytes,
    onError: (c) =>
      errorJson(
        c,
        new ApiError(413, "PAYLOAD_TOO_LARGE", `request body exceeds ${opts.bodyLimitBytes} bytes`),
      ),
  });
  const requestLog = logger.enabled("info");
  metrics.setInFlightSource(() => inFlight);
  // One middleware for id, body checks, log line, metrics and in-flight count: every layer of
  // middleware costs on the hot path, and a product read is only a few microseconds of work.
  const observe: MiddlewareHandler<AppEnv> = async (c, next) => {
    const started = performance.now();
    const given = c.req.header("x-request-id");
    const requestId = given !== undefined && REQUEST_ID.test(given) ? given : nextRequestId();
    c.set("requestId", requestId);
    c.header("X-Request-Id", requestId);
    inFlight++;
    try {
      if (c.req.raw.body === null || !hasHandler(c)) await next();
      else if (!isJsonContentType(c.req.header("content-type"))) {
        // Every endpoint that takes a body takes JSON; unknown paths fall through to 404 instead.
        const type = c.req.header("content-type");
        c.res = errorJson(
          c,
          new ApiError(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "request body must be application/json",
            type || undefined,
          ),
        );
      } else {
        const limited = await limitBody(c, next);
        if (limited instanceof Response) c.res = limited;
      }
    } finally {
      inFlight--;
    }
    const route = matchedRoute(c);
    const status = c.res.status;
    const ms = performance.now() - started;
    metrics.http.record(c.req.method, route, status, ms / 1000);
    if (requestLog) {
      // request_id and route are known-safe tokens (validated or generated, and our own templates).
      logger.infoFragment(
        "request",
        `"request_id":"${requestId}","method":${JSON.stringify(c.req.method)},"path":${JSON.stringify(c.req.path)},"route":"${route}","status":${status},"duration_ms":${Math.round(ms * 1000) / 1000}`,
      );
    }
  };

  app.use("*", observe);

  app.onError((err, c) => {
    if (err instanceof ApiError) return errorJson(c, err);
    if (err instanceof HTTPException) {
      // Hono's own validators throw these, e.g. for malformed JSON.
      if (err.status === 400) return errorJson(c, new ApiError(400, "INVALID_INPUT", err.message));
      if (err.status === 413) return errorJson(c, new ApiError(413, "PAYLOAD_TOO_LARGE", err.message));
    }
    logger.error("unhandled error", { request_id: c.get("requestId"), ...errorFields(err) });
    return errorJson(c, new ApiError(500, "INTERNAL", "internal error"));
  });

  app.notFound((c) => {
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length > 0) {
      c.header("Allow", allowed.join(", "));
      return errorJson(
        c,
        new ApiError(405, "METHOD_NOT_ALLOWED", `${c.req.method} is not allowed on ${c.req.path}`, allowed),
      );
    }
    return errorJson(c, new ApiError(404, "NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`));
  });

  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/ready", async (c) => {
    if (!accepting) {
      return c.json<ErrorBody>(
        { error: "NOT_READY", message: "not accepting traffic (starting or draining)" },
        503,
      );
    }
    const { failures, checks } = await probe();
    const failing = Object.keys(failures);
    if (failing.length > 0) {
      return c.json<ErrorBody>(
        {
          error: "NOT_READY",
          message: `dependency not ready: ${failing.join(", ")}`,
          details: { failures, checks },
        },
        503,
      );
    }
    return c.json({ status: "ready", checks });
  });
  app.get("/metrics", async (c) => {
    c.header("Content-Type", metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });

  let document: string | undefined;
  app.get("/openapi.json", (c) => {
    // Built once: every route is registered before the server starts listening.
    document ??= JSON.stringify(
      app.getOpenAPIDocument({
        openapi: "3.0.3",
        info: { title: opts.title, version: opts.version },
      }),
    );
    c.header("Content-Type", "application/json");
    return c.body(document);
  });
  app.get("/docs", Scalar({ url: "/openapi.json", pageTitle: `${opts.title} API reference` }));

  return {
    app,
    inFlight: () => inFlight,
    setAccepting: (a) => {
      accepting = a;
    },
    setProbe: (p) => {
      probe = p;
    },
    log: (c) => logger.child({ request_id: c.get("requestId") }),
  };
}

function hasHandler(c: Context): boolean {
  return matchedRoutes(c).some((r) => r.method !== "ALL");
}

function matchedRoute(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const r = routes[i];
    if (r && r.method !== "ALL") return r.path;
  }
  return "unmatched";
}

const patternCache = new Map<string, RegExp>();
function allowedMethods(app: App, path: string): string[] {
  const methods = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL") continue;
    let re = patternCache.get(r.path);
    if (!re) {
      const source = r.path
        .split("/")
        .map((seg) =>
          seg.startsWith(":") ? "[^/]+" : seg === "*" ? ".*" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
        )
        .join("/");
      re = new RegExp(`^${source}$`);
      patternCache.set(r.path, re);
    }
    if (re.test(path)) methods.add(r.method);
  }
  return [...methods].sort();
}
