/**
 * Registers a `createRoute` definition: its zod schemas feed the OpenAPI document and validate the
 * request. Validation is synchronous and done here rather than by @hono/zod-openapi's async
 * validator middleware, which cost as much as the rest of a product read.
 */
import type { RouteConfig, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { App, AppEnv } from "./app.ts";
import { ApiError, describeIssues } from "./errors.ts";

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

export function isJsonContentType(type: string | undefined): boolean {
  return type !== undefined && JSON_TYPE.test(type);
}

function invalid(message: string, error: z.ZodError): ApiError {
  return new ApiError(400, "INVALID_INPUT", message, describeIssues(error.issues));
}

export interface RouteOptions {
  /** Largest accepted body; larger ones get 413 PAYLOAD_TOO_LARGE. */
  bodyLimitBytes: number;
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
  app.openAPIRegistry.registerPath(route);
  const params = route.request?.params as Schema | undefined;
  const query = route.request?.query as Schema | undefined;
  const headers = route.request?.headers as Schema | undefined;
  const bodySpec = route.request?.body;
  const media = bodySpec?.content?.["application/json"];
  const body = (media && "schema" in media ? media.schema : undefined) as Schema | undefined;
  const bodyRequired = bodySpec?.required === true;
  const path = route.path.replace(/\{(\w+)\}/g, ":$1");

  const tooLarge = () =>
    new ApiError(413, "PAYLOAD_TOO_LARGE", `request body exceeds ${options.bodyLimitBytes} bytes`);

  type Input = Record<keyof RouteInput<R>, unknown>;

  /** Path, query and headers: synchronous, so a route without a body runs without an extra await. */
  const parseSync = (c: Context<AppEnv>): Input => {
    const input: Input = { params: undefined, query: undefined, headers: undefined, body: undefined };
    if (params) {
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

  const readBody = async (c: Context<AppEnv>, schema: Schema): Promise<unknown> => {
    let text = "";
    if (c.req.raw.body !== null) {
      const type = c.req.header("content-type");
      if (!isJsonContentType(type)) {
        throw new ApiError(
          415,
          "UNSUPPORTED_MEDIA_TYPE",
          "request body must be application/json",
          type || undefined,
        );
      }
      if (Number(c.req.header("content-length") ?? 0) > options.bodyLimitBytes) throw tooLarge();
      // Chunked bodies have no length up front; the runtime caps them just above the limit.
      const bytes = await c.req.arrayBuffer();
      if (bytes.byteLength > options.bodyLimitBytes) throw tooLarge();
      text = new TextDecoder().decode(bytes);
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
      }
      const input = parseSync(c);
      input.body = await readBody(c, body);
      return handler(c, input as RouteInput<R>);
    });
  } else {
    app.on(method, path, (c) => {
      if (c.env) {
        c.env.route = path;
        c.env.path = c.req.path;
      }
      return handler(c, parseSync(c) as RouteInput<R>);
    });
  }
}
