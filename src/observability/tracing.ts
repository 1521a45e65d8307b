/**
 * Traces, as the rest of the code sees them: one process-wide handle that is undefined unless
 * OTEL_EXPORTER_OTLP_ENDPOINT is set. Call sites test it (or use `traced`, which does) before doing any
 * tracing work, so with tracing off no span object, context or carrier is ever built, and neither the
 * OpenTelemetry API nor the SDK is loaded: they live in tracing-sdk.ts, imported only when configured
 * (docs/observability.md).
 *
 * Process-wide like OpenTelemetry's own global provider: the active span travels in an
 * AsyncLocalStorage context that every module of the process shares.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SNSClient } from "@aws-sdk/client-sns";
import type { SQSClient } from "@aws-sdk/client-sqs";

export type SpanKindName = "internal" | "server" | "client" | "producer" | "consumer";
export type SpanAttributes = Record<string, string | number | boolean | undefined>;
/** W3C trace context headers or message attributes: `traceparent` and, when present, `tracestate`. */
export type Carrier = Record<string, string>;

export interface SpanOptions {
  kind?: SpanKindName;
  attributes?: SpanAttributes;
  /** The remote parent (a message's or stream entry's trace context) instead of the active span. */
  parent?: Carrier | undefined;
  /** Other spans this one follows from: the bids an archiver batch writes, the message a consumer handles. */
  links?: (Carrier | undefined)[];
}

/** Request facts the HTTP server span reads once the app has answered. */
export interface ServerRequestState {
  route: string;
  traceId: string | undefined;
  /** The `traceparent` to answer with, set by `serve` as the request starts (the app adds the header). */
  traceparent: string | undefined;
}

export interface Tracing {
  /** The active span's trace id, for log lines; undefined outside any span. */
  traceId(): string | undefined;
  /**
   * The request's server span around `serve`: continues the request's `traceparent`, is named by the
   * route template once routing is done, and leaves the `traceparent` to answer in `state`. A request the
   * sampler drops gets no span, only its trace context; a synchronous `serve` stays synchronous then.
   */
  serve(
    req: Request,
    state: ServerRequestState,
    serve: () => Response | Promise<Response>,
  ): Response | Promise<Response>;
  /** Runs `fn` as the active span `name`; an exception marks the span as an error and is rethrown. */
  run<T>(name: string, options: SpanOptions, fn: () => Promise<T>): Promise<T>;
  /** `run` for synchronous work (the broadcaster's fan-out). */
  runSync<T>(name: string, options: SpanOptions, fn: () => T): T;
  /** The active span's context written into `carrier` (message attributes, a stream entry). */
  inject(carrier: Carrier): Carrier;
  /** Client spans for every command of an AWS SDK v3 client, by its middleware stack. */
  instrumentAws(client: AwsClient, service: "dynamodb" | "sqs" | "sns"): void;
  /** Client spans for the queries of a pg connection (called as the pool opens it). */
  instrumentPostgres(client: PgClientLike, database: string | undefined): void;
  /** Force-flushes pending spans within `timeoutMs`, then stops exporting. */
  shutdown(timeoutMs: number): Promise<void>;
}

/** The AWS SDK clients shop builds (type-only: nothing of the SDK is loaded here). */
export type AwsClient = DynamoDBClient | SQSClient | SNSClient;

/** The part of a pg client the instrumentation needs. */
export interface PgClientLike {
  query: (...args: never[]) => unknown;
}

let current: Tracing | undefined;

/** The process's tracing, or undefined when it is off. */
export const tracing = (): Tracing | undefined => current;

/** Set by the tracing module's init (and cleared at its stop). */
export function installTracing(t: Tracing | undefined): void {
  current = t;
}

/** `fn` inside a span when tracing is on; just `fn()` when it is off. */
export function traced<T>(name: string, options: SpanOptions, fn: () => Promise<T>): Promise<T> {
  return current === undefined ? fn() : current.run(name, options, fn);
}

/** The active trace context as message attributes, or undefined when tracing is off. */
export function traceCarrier(): Carrier | undefined {
  return current?.inject({});
}
