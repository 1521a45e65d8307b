/**
 * Registers a `createRoute` definition: its zod schemas feed the OpenAPI document and validate the
 * request. Validation is synchronous and done here rather than by @hono/zod-openapi's async
 * validator middleware, which cost as much as the rest of a product read.
 */
import type { RouteConfig, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { RequestMetrics } from "../observability/metrics.ts";
import { discardBody } from "../runtime.ts";
import { exactParserOf } from "../util/exact-parse.ts";
import type { App, AppEnv } from "./app.ts";
import { ApiError, describeIssues, ErrorSchema } from "./errors.ts";
import type { Guard } from "./guard.ts";
import type { Budget } from "./rate-limit.ts";
import { scopeOf } from "./security.ts";

type Schema = z.ZodType;
type Out<S> = S extends Schema ? z.output<S> : undefined;

type ParamsOf<R> = R extends { request: { params: infer P } } ? Out<P> : undefined;
type QueryOf<R> = R extends { request: { query: infer Q } } ? Out<Q> : undefined;
type HeadersOf<R> = R extends { request: { headers: infer H } } ? Out<H> : undefined;
type BodyOf<R> = R extends { request: { body: { content: { "application/json": { schema: infer B } } } } }
  ? Out<B>
  : undefined;

export interface RouteInput<R> {
  params: ParamsOf<R>;
  query: QueryOf<R>;
  headers: HeadersOf<R>;
  body: BodyOf<R>;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i;
const UTF8 = /^utf-?8$/i;

export function isJsonContentType(type: string | undefined): boolean {
  return type !== undefined && JSON_TYPE.test(type);
}

/**
 * Whether the request frames a body (RFC 9112 §6.3): a transfer coding or a non-zero Content-Length.
 * `req.body` cannot tell: Deno hands every POST a body stream, even with Content-Length: 0.
 */
export function framesBody(req: Request): boolean {
  if (req.headers.has("transfer-encoding")) return true;
  const length = req.headers.get("content-length");
  return length !== null && Number(length) !== 0;
}

/**
 * A string no store keeps as sent: NUL (PostgreSQL text refuses it; C clients truncate at it) or a lone
 * surrogate (not Unicode: UTF-8 encoders, and so DynamoDB, Redis and our logs, turn it into U+FFFD).
 */
const UNSTORABLE = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The path of the first unstorable string (value or key) in a parsed JSON body, or undefined. */
export function unstorableString(value: unknown, path = ""): string | undefined {
  if (typeof value === "string") return UNSTORABLE.test(value) ? path || "(body)" : undefined;
  if (typeof value !== "object" || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = unstorableString(value[i], path ? `${path}.${i}` : String(i));
      if (bad !== undefined) return bad;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value)) {
    const at = path ? `${path}.${k}` : k;
    if (UNSTORABLE.test(k)) return at;
    const bad = unstorableString(v, at);
    if (bad !== undefined) return bad;
  }
  return undefined;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The client went away while sending its body. Nobody reads the answer; it is a 4xx outcome of its
 * own (nginx's 499) so that it neither counts as a server error nor looks like a served request.
 */
export const clientClosed = () =>
  new ApiError(
    499 as ContentfulStatusCode,
    "CLIENT_CLOSED_REQUEST",
    "the client closed the connection before sending the whole body",
  );

/** What an exact params parser reads: the router's decoded path parameter by name. */
interface ParamSource {
  param(key: string): string | undefined;
}

/**
 * The params object's parse without zod when every field has an exact parser (util/exact-parse.ts):
 * undefined where zod would fail, and then zod runs to describe why. Built once per route.
 */
function exactParams(
  schema: Schema,
): ((req: ParamSource) => Record<string, unknown> | undefined) | undefined {
  const shape = (schema as { shape?: Record<string, object> }).shape;
  if (!shape) return undefined;
  const fields: [string, (raw: string) => unknown][] = [];
  for (const [key, field] of Object.entries(shape)) {
    const parse = exactParserOf(field);
    if (!parse) return undefined;
    fields.push([key, parse]);
  }
  return (req) => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < fields.length; i++) {
      const [key, parse] = fields[i] as [string, (raw: string) => unknown];
      const raw = req.param(key);
      const value = raw === undefined ? undefined : parse(raw);
      if (value === undefined) return undefined;
      out[key] = value;
    }
    return out;
  };
}

function invalid(message: string, error: z.ZodError): ApiError {
  return new ApiError(400, "INVALID_INPUT", message, describeIssues(error.issues));
}

/** Every operation can fail unexpectedly; the contract documents that 500 on each one. */
const internalError = {
  description: "Unexpected error (logged with the request id)",
  content: { "application/json": { schema: ErrorSchema } },
};

const errorContent = { "application/json": { schema: ErrorSchema } };
const unauthorized = {
  description: "Missing or invalid credentials (WWW-Authenticate names the schemes)",
  content: errorContent,
};
const forbidden = { description: "The credential lacks the operation's scope", content: errorContent };
const tooManyRequests = {
  description: "Rate limit reached (Retry-After, RateLimit-Policy, RateLimit)",
  content: errorContent,
};

export interface RouteOptions {
  /** Largest accepted body; larger ones get 413 PAYLOAD_TOO_LARGE. */
  bodyLimitBytes: number;
  /** Credentials and rate limits, checked before the request is parsed. */
  guard: Guard;
  /** Where each route takes its metrics handle from, once. */
  metrics: RequestMetrics;
}

export type Handle = <R extends RouteConfig>(
  route: R,
  handler: (c: Context<AppEnv>, input: RouteInput<R>) => Response | Promise<Response>,
) => void;

export const routeRegistrar =
  (app: App, options: RouteOptions): Handle =>
  (route, handler) =>
    register(app, options, route, handler);

function register<R extends RouteConfig>(
  app: App,
  options: RouteOptions,
  route: R,
  handler: (c: Context<AppEnv>, input: RouteInput<R>) => Response | Promise<Response>,
): void {
  const scope = scopeOf(route);
  const refusals =
    scope === null ? { 429: tooManyRequests } : { 401: unauthorized, 403: forbidden, 429: tooManyRequests };
  app.openAPIRegistry.registerPath({
    ...route,
    responses: { 500: internalError, ...refusals, ...route.responses },
  });
  const budget: Budget = scope === "bids" ? "bid" : route.method === "get" ? "read" : "write";
  const { guard } = options;
  const params = route.request?.params as Schema | undefined;
  const fastParams = params && exactParams(params);
  const query = route.request?.query as Schema | undefined;
  const headers = route.request?.headers as Schema | undefined;
  const bodySpec = route.request?.body;
  const media = bodySpec?.content?.["application/json"];
  const body = (media && "schema" in media ? media.schema : undefined) as Schema | undefined;
  const bodyRequired = bodySpec?.required === true;
  const path = route.path.replace(/\{(\w+)\}/g, ":$1");
  const metric = options.metrics.route(path);

  const tooLarge = () =>
    new ApiError(413, "PAYLOAD_TOO_LARGE", `request body exceeds ${options.bodyLimitBytes} bytes`);

  type Input = Record<keyof RouteInput<R>, unknown>;

  /** Path, query and headers: synchronous, so a route without a body runs without an extra await. */
  const parseSync = (c: Context<AppEnv>): Input => {
    const input: Input = { params: undefined, query: undefined, headers: undefined, body: undefined };
    const exact = fastParams?.(c.req);
    if (exact) input.params = exact;
    else if (params) {
      const r = params.safeParse(c.req.param());
      if (!r.success) throw invalid("Invalid path parameter", r.error);
      input.params = r.data;
    }
    if (query) {
      const r = query.safeParse(c.req.query());
      if (!r.success) throw invalid("Invalid query parameter", r.error);
      input.query = r.data;
    }
    if (headers) {
      const r = headers.safeParse(c.req.header());
      if (!r.success) throw invalid("Invalid header", r.error);
      input.headers = r.data;
    }
    return input;
  };

  /**
   * The body, read with the limit enforced as it streams in: a declared length over the limit is refused
   * before reading, a chunked body once it passes the limit, so memory never holds more than the limit.
   */
  const readBytes = async (req: Request, stream: ReadableStream<Uint8Array>): Promise<Uint8Array> => {
    const declared = req.headers.get("content-length");
    if (declared !== null) {
      if (Number(declared) > options.bodyLimitBytes) {
        await discardBody(stream);
        throw tooLarge();
      }
      try {
        // The runtime reads exactly the declared length.
        return new Uint8Array(await req.arrayBuffer());
      } catch {
        throw clientClosed();
      }
    }
    const reader = stream.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch {
        throw clientClosed();
      }
      if (next.done) break;
      size += next.value.byteLength;
      if (size > options.bodyLimitBytes) {
        reader.releaseLock();
        await discardBody(stream);
        throw tooLarge();
      }
      chunks.push(next.value);
    }
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.byteLength;
    }
    return bytes;
  };

  const readBody = async (c: Context<AppEnv>, schema: Schema): Promise<unknown> => {
    const req = c.req.raw;
    let text = "";
    if (req.body !== null && framesBody(req)) {
      const type = c.req.header("content-type");
      if (!isJsonContentType(type)) {
        throw new ApiError(
          415,
          "UNSUPPORTED_MEDIA_TYPE",
          "request body must be application/json",
          type || undefined,
        );
      }
      const charset = CHARSET.exec(type ?? "")?.[1];
      if (charset !== undefined && !UTF8.test(charset)) {
        throw new ApiError(
          415,
          "UNSUPPORTED_MEDIA_TYPE",
          "request body must be UTF-8 (charset=utf-8)",
          charset,
        );
      }
      const bytes = await readBytes(req, req.body);
      try {
        text = utf8.decode(bytes);
      } catch {
        throw new ApiError(400, "INVALID_INPUT", "request body is not valid UTF-8");
      }
    }
    if (text.trim() === "") {
      if (bodyRequired) throw new ApiError(400, "INVALID_INPUT", "request body is required");
      return undefined;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new ApiError(400, "INVALID_INPUT", "Malformed JSON in request body", (err as Error).message);
    }
    const unstorable = unstorableString(json);
    if (unstorable !== undefined) {
      throw new ApiError(
        400,
        "INVALID_INPUT",
        "Invalid request body",
        `${unstorable}: must not contain NUL or unpaired surrogates`,
      );
    }
    const r = schema.safeParse(json);
    if (!r.success) throw invalid("Invalid request body", r.error);
    return r.data;
  };

  const method = route.method.toUpperCase();
  if (body) {
    app.on(method, path, async (c) => {
      if (c.env) {
        c.env.route = path;
        c.env.path = c.req.path;
        c.env.metric = metric;
      }
      await guard.check(c, scope, budget);
      const input = parseSync(c);
      input.body = await readBody(c, body);
      return handler(c, input as RouteInput<R>);
    });
  } else {
    app.on(method, path, (c) => {
      if (c.env) {
        c.env.route = path;
        c.env.path = c.req.path;
        c.env.metric = metric;
      }
      const waiting = guard.check(c, scope, budget);
      if (waiting === undefined) return handler(c, parseSync(c) as RouteInput<R>);
      return waiting.then(() => handler(c, parseSync(c) as RouteInput<R>)) as Promise<Response>;
    });
  }
}
