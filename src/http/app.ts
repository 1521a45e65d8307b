import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Readiness } from "../modules/graph.ts";
import { type AccessLogPolicy, accessLogLevel, DEFAULT_ACCESS_LOG } from "../observability/access-log.ts";
import type { Logger } from "../observability/log.ts";
import { errorFields } from "../observability/log.ts";
import type { Metrics, RouteMetrics } from "../observability/metrics.ts";
import { tracing } from "../observability/tracing.ts";
import { discardBody, type ServeEnv, type Upgrade } from "../runtime.ts";
import type { Principal } from "./auth.ts";
import {
  DOCS_CSP,
  DOCS_INIT,
  DOCS_INIT_SCRIPT,
  DOCS_SCRIPT,
  docsPage,
  docsScript,
  IMMUTABLE,
} from "./docs/docs.ts";
import { ApiError, type ErrorBody, toApiError } from "./errors.ts";
import type { Guard } from "./guard.ts";
import { type Handle, routeRegistrar } from "./route.ts";
import { SECURITY_SCHEMES } from "./security.ts";

/**
 * Per-request state, passed to Hono as its `env`: the request id for logs, and the matched route
 * template, which the route helper fills in for metrics labels.
 */
export interface RequestState {
  requestId: string;
  route: string;
  /** The request path as the router saw it, recorded by matched routes (saves re-reading the URL). */
  path: string | undefined;
  /** The matched route's metrics handle, taken when the route was registered. */
  metric: RouteMetrics | undefined;
  /** The runtime's WebSocket upgrade, when the app runs under serve(). */
  upgrade: Upgrade | undefined;
  /** The runtime's peer address lookup, when the app runs under serve(). */
  peerAddress: ServeEnv["peerAddress"] | undefined;
  /** Who sent the request, once an operation's guard admitted it. */
  principal: Principal | undefined;
  /** The server span's trace id, for the log lines; undefined when tracing is off. */
  traceId: string | undefined;
  /** The response's `traceparent` header; undefined when tracing is off. */
  traceparent: string | undefined;
}
export type AppEnv = { Bindings: RequestState };
export type App = OpenAPIHono<AppEnv>;

export interface HttpCore {
  app: App;
  /** Registers a `createRoute` definition with its handler: validation, docs and metrics label. */
  handle: Handle;
  /** Credentials and rate limits, checked before each operation. */
  guard: Guard;
  /**
   * The server's entry point: request id, metrics, the request log line and the in-flight count
   * wrap Hono here rather than as middleware, so a matched route runs without a middleware chain.
   */
  fetch(req: Request, env?: ServeEnv): Response | Promise<Response>;
  /** A plain GET route outside the OpenAPI document (pages, WebSocket upgrades), labelled by its path. */
  plain(path: string, handler: (c: Context<AppEnv>) => Response | Promise<Response>): void;
  /** Requests being served right now: shutdown waits for this to reach zero. */
  inFlight(): number;
  /** Set by the process lifecycle: false while starting and once draining, so /ready answers 503. */
  setAccepting(accepting: boolean): void;
  /** Probes every module's dependency; the lifecycle installs it once the module graph exists. */
  setProbe(probe: () => Promise<Readiness>): void;
  /** A logger that carries the request id, for handlers that log. */
  log(c: Context<AppEnv>): Logger;
}

/**
 * The methods HTTP defines (RFC 9110 §9, PATCH from RFC 5789). Any other token is answered like a
 * defined method the resource lacks, 405 with Allow (404 off every route): RFC 9110 permits 501, but a
 * 5xx chosen by the client would let anyone inflate the 5xx rate that alarms and autoscaling read.
 */
const KNOWN_METHODS = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH",
]);

const OPEN: Guard = { check: () => undefined, setLimiter: () => {} };

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request ids: a random per-process prefix and a counter. Unique across processes like a UUID, but
 * crypto.randomUUID() per request was a tenth of the CPU time of a product read.
 */
const idPrefix = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) =>
  b.toString(16).padStart(2, "0"),
).join("");
let idCounter = 0;
// Decimal: number-to-string in base 36 was a visible share of a product read.
const nextRequestId = () => `${idPrefix}-${++idCounter}`;

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
  /** Credentials and rate limits of every operation; none (all open) when absent. */
  guard?: Guard;
  /** Which requests get an access line (LOG_SLOW_MS, LOG_SAMPLE_RATE); the configuration's defaults when absent. */
  accessLog?: AccessLogPolicy;
}): HttpCore {
  const { logger, metrics } = opts;
  const accessLog = opts.accessLog ?? DEFAULT_ACCESS_LOG;
  // Lets a sampled line be scaled back to a count; a constant, so serialised once.
  const sampled = `,"sample_rate":${accessLog.sampleRate}`;
  let inFlight = 0;
  let accepting = false;
  let probe: () => Promise<Readiness> = async () => ({ failures: {}, checks: {} });

  const app: App = new OpenAPIHono<AppEnv>();
  const guard = opts.guard ?? OPEN;

  // Read once: with tracing off the request path has no tracing branch beyond this one test.
  const traced = tracing();
  metrics.setInFlightSource(() => inFlight);

  /** The access line, metrics and request id of a served request; the body is discarded first when it must be. */
  const finish = (
    req: Request,
    state: RequestState,
    started: number,
    res: Response,
  ): Response | Promise<Response> => {
    inFlight--;
    // An answer sent before the body was read is lost on Bun unless the rest of the body is read first.
    if (res.status >= 400 && req.body !== null && !req.bodyUsed && !req.body.locked)
      return discardBody(req.body).then(() => account(req, state, started, res));
    return account(req, state, started, res);
  };

  const account = (req: Request, state: RequestState, started: number, res: Response): Response => {
    res.headers.set("X-Request-Id", state.requestId);
    if (state.traceparent !== undefined) res.headers.set("traceparent", state.traceparent);
    const ms = performance.now() - started;
    // Unmatched requests may carry any method token: one label for the unknown ones bounds the series.
    const method = state.route !== "unmatched" || KNOWN_METHODS.has(req.method) ? req.method : "OTHER";
    (state.metric ?? metrics.http.route(state.route)).record(method, res.status, ms / 1000);
    const level = accessLogLevel(res.status, ms, accessLog);
    if (logger.enabled(level)) {
      // request_id, method (an HTTP token) and route (our own templates) never need JSON escaping.
      logger.fragment(
        level,
        "request",
        `"request_id":"${state.requestId}",${state.traceId === undefined ? "" : `"trace_id":"${state.traceId}",`}"method":"${req.method}","path":${jsonString(state.path ?? pathOf(req.url))},"route":"${state.route}","status":${res.status},"duration_ms":${millis(ms)}${state.principal ? `,"credential":${jsonString(state.principal.credential)}` : ""}${level === "info" ? sampled : ""}`,
      );
    }
    return res;
  };

  /**
   * Not async: a route that answers synchronously (a body-less GET on a memory store) is served without
   * a promise; only a route that awaits something pays for the chain after it.
   */
  const fetch = (req: Request, env?: ServeEnv): Response | Promise<Response> => {
    const started = performance.now();
    const given = req.headers.get("x-request-id");
    const state: RequestState = {
      requestId: given !== null && REQUEST_ID.test(given) ? given : nextRequestId(),
      route: "unmatched",
      path: undefined,
      metric: undefined,
      upgrade: env?.upgrade,
      peerAddress: env?.peerAddress,
      principal: undefined,
      traceId: undefined,
      traceparent: undefined,
    };
    inFlight++;
    let out: Response | Promise<Response>;
    try {
      out =
        traced === undefined ? app.fetch(req, state) : traced.serve(req, state, () => app.fetch(req, state));
    } catch (err) {
      inFlight--;
      throw err;
    }
    if (out instanceof Promise) {
      return out.then(
        (res) => finish(req, state, started, res),
        (err: unknown) => {
          inFlight--;
          throw err;
        },
      );
    }
    return finish(req, state, started, out);
  };

  const plain = (path: string, handler: (c: Context<AppEnv>) => Response | Promise<Response>) => {
    const metric = metrics.http.route(path);
    app.get(path, (c) => {
      if (c.env) {
        c.env.route = path;
        c.env.path = c.req.path;
        c.env.metric = metric;
      }
      return handler(c);
    });
  };

  app.onError((err, c) => {
    const answer = toApiError(err);
    if (answer) return errorJson(c, answer);
    if (err instanceof HTTPException) {
      // Hono's own validators throw these, e.g. for malformed JSON.
      if (err.status === 400) return errorJson(c, new ApiError(400, "INVALID_INPUT", err.message));
      if (err.status === 413) return errorJson(c, new ApiError(413, "PAYLOAD_TOO_LARGE", err.message));
    }
    logger.error("unhandled error", { request_id: c.env?.requestId, ...errorFields(err) });
    return errorJson(c, new ApiError(500, "INTERNAL", "internal error"));
  });

  app.notFound((c) => {
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length > 0) {
      c.header("Allow", allowed.join(", "));
      return errorJson(
        c,
        new ApiError(
          405,
          "METHOD_NOT_ALLOWED",
          `${c.req.method} is not allowed on ${c.req.path}`,
          `allowed: ${allowed.join(", ")}`,
          undefined,
          { allowed },
        ),
      );
    }
    return errorJson(c, new ApiError(404, "NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`));
  });

  plain("/health", (c) => c.json({ status: "ok" }));
  plain("/ready", async (c) => {
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
          details: failing.map((name) => `${name}: ${failures[name]}`).join("; "),
          data: { failures, checks },
        },
        503,
      );
    }
    return c.json({ status: "ready", checks });
  });
  plain("/metrics", async (c) => {
    c.header("Content-Type", metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });

  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES))
    app.openAPIRegistry.registerComponent("securitySchemes", name, scheme);
  let document: string | undefined;
  plain("/openapi.json", (c) => {
    // Built once: every route is registered before the server starts listening.
    document ??= JSON.stringify(
      app.getOpenAPIDocument({
        openapi: "3.0.3",
        info: { title: opts.title, version: opts.version },
        // Relative: the paths are at the root of whichever host serves this document.
        servers: [{ url: "/", description: "This server" }],
      }),
    );
    c.header("Content-Type", "application/json");
    return c.body(document);
  });
  const page = docsPage(`${opts.title} API reference`);
  plain("/docs", (c) => {
    c.header("Content-Security-Policy", DOCS_CSP);
    c.header("Cache-Control", "no-cache");
    return c.html(page);
  });
  let bundle: Promise<Blob> | undefined;
  plain(DOCS_SCRIPT, async () => {
    bundle ??= docsScript();
    return new Response(await bundle, {
      headers: { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": IMMUTABLE },
    });
  });
  plain(DOCS_INIT, (c) => {
    c.header("Content-Type", "text/javascript; charset=utf-8");
    c.header("Cache-Control", IMMUTABLE);
    return c.body(DOCS_INIT_SCRIPT);
  });

  return {
    app,
    handle: routeRegistrar(app, { bodyLimitBytes: opts.bodyLimitBytes, guard, metrics: metrics.http }),
    guard,
    fetch,
    plain,
    inFlight: () => inFlight,
    setAccepting: (a) => {
      accepting = a;
    },
    setProbe: (p) => {
      probe = p;
    },
    log: (c) => logger.child({ request_id: c.env?.requestId }),
  };
}

/** Milliseconds with three decimals, by integer arithmetic: float-to-string formatting was a visible cost per line. */
function millis(ms: number): string {
  const us = Math.round(ms * 1000);
  const frac = us % 1000;
  return `${(us - frac) / 1000}.${frac < 10 ? "00" : frac < 100 ? "0" : ""}${frac}`;
}

const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
/** A JSON string literal; request paths are nearly always plain ASCII that needs no escaping. */
function jsonString(text: string): string {
  return PLAIN.test(text) ? `"${text}"` : JSON.stringify(text);
}

/** The path of a request URL without parsing the whole URL. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const q = url.indexOf("?", start);
  return q < 0 ? url.slice(start) : url.slice(start, q);
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
