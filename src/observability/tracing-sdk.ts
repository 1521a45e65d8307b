/**
 * The OpenTelemetry SDK behind `Tracing` (tracing.ts), loaded only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
 * Spans go through one bounded BatchSpanProcessor to an OTLP/HTTP exporter (protobuf or JSON): the
 * request path only appends a finished span to the queue, never waits on the collector; a full queue or
 * a failed export drops spans and counts them in `otel_spans_dropped_total`. The same SDK runs under Bun,
 * the compiled binary and Deno (docs/observability.md says why not Deno's built-in OpenTelemetry).
 */
import dc from "node:diagnostics_channel";
import {
  type Attributes,
  type Context,
  context,
  createNoopMeter,
  type Link,
  type Meter,
  type MeterProvider,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  parseTraceParent,
  setGlobalErrorHandler,
  TraceState,
  W3CTraceContextPropagator,
} from "@opentelemetry/core";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  type IdGenerator,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import { Counter, type Registry } from "prom-client";
import type { Config } from "../config.ts";
import type { Logger } from "./log.ts";
import type {
  AwsClient,
  Carrier,
  PgClientLike,
  ServerRequestState,
  SpanAttributes,
  SpanKindName,
  SpanOptions,
  Tracing,
} from "./tracing.ts";

const KIND: Record<SpanKindName, SpanKind> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

/** What the SDK needs besides the OTEL_* configuration. */
export interface TracingSettings {
  serviceName: string;
  serviceVersion: string;
  registry: Registry;
  logger: Logger;
}

export function samplerOf(name: Config["OTEL_TRACES_SAMPLER"], arg: number): Sampler {
  const ratio = () => new TraceIdRatioBasedSampler(arg);
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return ratio();
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: ratio() });
  }
}

/**
 * The configured sampler's decision for a request's server span, taken before the SDK so that an unsampled
 * request (99 % at 1 %) builds no span: `parentSampled` is the incoming `traceparent`'s sampled flag, undefined
 * without one; `traceId` is the parent's or, for a root, the one the server span will get. The same rules as
 * samplerOf's samplers (the ratio by the SDK's own trace-id arithmetic), so the SDK, asked only for the
 * sampled requests, agrees with it.
 */
export function upfrontSampler(
  name: Config["OTEL_TRACES_SAMPLER"],
  arg: number,
): (traceId: string, parentSampled: boolean | undefined) => boolean {
  const ratio = Number.isNaN(arg) ? 0 : Math.min(Math.max(arg, 0), 1);
  const bound = ratio === 1 ? 0x100000000 : Math.floor(ratio * 0xffffffff);
  const byRatio = (traceId: string) => traceIdBits(traceId) < bound;
  switch (name) {
    case "always_on":
      return () => true;
    case "always_off":
      return () => false;
    case "traceidratio":
      return byRatio;
    case "parentbased_always_on":
      return (_, parent) => parent ?? true;
    case "parentbased_always_off":
      return (_, parent) => parent ?? false;
    case "parentbased_traceidratio":
      return (traceId, parent) => parent ?? byRatio(traceId);
  }
}

/** The four 32-bit words of a trace id XORed together: what TraceIdRatioBasedSampler compares to its bound. */
function traceIdBits(traceId: string): number {
  let acc = 0;
  for (let i = 0; i < 32; i += 8) acc = (acc ^ Number.parseInt(traceId.slice(i, i + 8), 16)) >>> 0;
  return acc;
}

/** `k=v,k2=v2` with percent-encoded values (the OTEL_RESOURCE_ATTRIBUTES format). */
export function parseResourceAttributes(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? "").split(",")) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    out[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return out;
}

/** The path of a request URL without building a URL object. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const q = url.indexOf("?", start);
  return q < 0 ? url.slice(start) : url.slice(start, q);
}

function clean(attributes: SpanAttributes | undefined): Attributes | undefined {
  if (attributes === undefined) return undefined;
  const out: Attributes = {};
  for (const [k, v] of Object.entries(attributes)) if (v !== undefined) out[k] = v;
  return out;
}

function fail(span: Span, err: unknown): void {
  if (err instanceof Error) span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/**
 * The processor's self-observability meter, bridged to Prometheus: the SDK reports every span it finished
 * processing, with `error.type` set when it was dropped (`queue_full`) or its export failed.
 */
function spanCounters(registry: Registry): MeterProvider {
  const dropped = new Counter({
    name: "otel_spans_dropped_total",
    help: "Finished spans not delivered to the collector: queue_full (the bounded export queue), or the export's error",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  const exported = new Counter({
    name: "otel_spans_exported_total",
    help: "Finished spans the collector accepted",
    registers: [registry],
  });
  const noop = createNoopMeter();
  const meter: Meter = Object.create(noop);
  meter.createCounter = (name, options) => {
    if (name !== "otel.sdk.processor.span.processed") return noop.createCounter(name, options);
    return {
      add: (value, attributes) => {
        const reason = attributes?.["error.type"];
        if (reason === undefined) exported.inc(value);
        else dropped.inc({ reason: String(reason) }, value);
      },
    };
  };
  return { getMeter: () => meter };
}

const EXPORT_LOG_EVERY_MS = 60_000;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** An id of all zeros is the invalid id, by its length in hex digits. */
const ZERO: Record<number, string> = { 16: "0".repeat(16), 32: "0".repeat(32) };

/**
 * Trace and span ids from a pooled crypto.getRandomValues buffer, turned into hex text a pool at a time so
 * that an id is a slice of it: the SDK's RandomIdGenerator (Math.random per 4 bytes) was most of the cost of
 * an unsampled request's span, and a string built byte by byte was still most of an id's (docs/observability.md,
 * cost).
 */
export class PooledIdGenerator implements IdGenerator {
  private readonly pool = new Uint8Array(4096);
  private text = "";
  private at = 0;
  /** The next root span's trace id, when it was drawn before the span (the upfront sampling decision). */
  next: string | undefined;

  private hex(digits: 16 | 32): string {
    for (;;) {
      if (this.at + digits > this.text.length) {
        crypto.getRandomValues(this.pool);
        this.text = Array.from(this.pool, (b) => HEX[b]).join("");
        this.at = 0;
      }
      const id = this.text.slice(this.at, this.at + digits);
      this.at += digits;
      if (id !== ZERO[digits]) return id;
    }
  }

  generateTraceId(): string {
    const preset = this.next;
    if (preset === undefined) return this.hex(32);
    this.next = undefined;
    return preset;
  }

  generateSpanId(): string {
    return this.hex(16);
  }
}

export function createTracing(config: Config, settings: TracingSettings): Tracing {
  const endpoint = config.OTEL_EXPORTER_OTLP_ENDPOINT as string;
  const exporterOptions = {
    url: `${endpoint.replace(/\/+$/, "")}/v1/traces`,
    timeoutMillis: config.OTEL_EXPORTER_OTLP_TIMEOUT,
  };
  const exporter =
    config.OTEL_EXPORTER_OTLP_PROTOCOL === "http/json"
      ? new JsonExporter(exporterOptions)
      : new ProtobufExporter(exporterOptions);
  const processor = new BatchSpanProcessor({
    exporter,
    maxQueueSize: config.OTEL_BSP_MAX_QUEUE_SIZE,
    maxExportBatchSize: Math.min(config.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, config.OTEL_BSP_MAX_QUEUE_SIZE),
    scheduledDelayMillis: config.OTEL_BSP_SCHEDULE_DELAY,
    exportTimeoutMillis: config.OTEL_EXPORTER_OTLP_TIMEOUT,
    selfObsMeterProvider: spanCounters(settings.registry),
  });
  const ids = new PooledIdGenerator();
  const sampledUpfront = upfrontSampler(config.OTEL_TRACES_SAMPLER, config.OTEL_TRACES_SAMPLER_ARG);
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      ...parseResourceAttributes(config.OTEL_RESOURCE_ATTRIBUTES),
      [ATTR_SERVICE_NAME]: settings.serviceName,
      [ATTR_SERVICE_VERSION]: settings.serviceVersion,
    }),
    sampler: samplerOf(config.OTEL_TRACES_SAMPLER, config.OTEL_TRACES_SAMPLER_ARG),
    idGenerator: ids,
    spanProcessors: [processor],
    // An archiver batch links to each of its bids (ARCHIVER_BATCH ≤ 10000).
    spanLimits: { linkCountLimit: 10_000 },
  });
  const tracer = provider.getTracer("shop", settings.serviceVersion);
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  const propagator = new W3CTraceContextPropagator();

  // A collector that is down fails every export: say so once a minute, the counter has the rest.
  let lastLogged = 0;
  setGlobalErrorHandler((err) => {
    const now = Date.now();
    if (now - lastLogged < EXPORT_LOG_EVERY_MS) return;
    lastLogged = now;
    settings.logger.warn("span export failed; spans are dropped and counted in otel_spans_dropped_total", {
      error: err instanceof Error ? err.message : String(err),
    });
  });

  const extract = (carrier: Carrier, base: Context = ROOT_CONTEXT) =>
    propagator.extract(base, carrier, {
      get: (c, k) => c[k],
      keys: (c) => Object.keys(c),
    });
  const linkOf = (carrier: Carrier | undefined): Link[] => {
    if (carrier === undefined) return [];
    const sc = trace.getSpanContext(extract(carrier));
    return sc === undefined ? [] : [{ context: sc }];
  };

  const start = (name: string, options: SpanOptions) => {
    const active = context.active();
    const parent = options.parent === undefined ? active : extract(options.parent, active);
    const span = tracer.startSpan(
      name,
      {
        kind: KIND[options.kind ?? "internal"],
        attributes: clean(options.attributes),
        links: options.links?.flatMap(linkOf),
      },
      parent,
    );
    return { span, ctx: trace.setSpan(parent, span) };
  };

  const runSync = <T>(name: string, options: SpanOptions, fn: () => T): T => {
    const { span, ctx } = start(name, options);
    try {
      return context.with(ctx, fn);
    } catch (err) {
      fail(span, err);
      throw err;
    } finally {
      span.end();
    }
  };

  const run = <T>(name: string, options: SpanOptions, fn: () => Promise<T>): Promise<T> => {
    const { span, ctx } = start(name, options);
    return context.with(ctx, async () => {
      try {
        return await fn();
      } catch (err) {
        fail(span, err);
        throw err;
      } finally {
        span.end();
      }
    });
  };

  /** Client spans only inside a trace: pollers' receives and blocking reads would each start a trace of their own. */
  const inTrace = () => trace.getSpan(context.active()) !== undefined;

  const unsubscribeRedis = subscribeRedis(tracer, inTrace);

  return {
    traceId: () => trace.getSpanContext(context.active())?.traceId,

    serve: (req, state: ServerRequestState, serve) => {
      const header = req.headers.get("traceparent");
      const parent = header === null ? null : parseTraceParent(header);
      const traceId = parent === null ? ids.generateTraceId() : parent.traceId;
      const traceState = (header: string | null) => (header === null ? undefined : new TraceState(header));
      if (!sampledUpfront(traceId, parent === null ? undefined : (parent.traceFlags & 1) === 1)) {
        // Not sampled: no SDK span, only the context a span would carry, so that logs have the trace id and
        // messages and stream entries carry it with flags 00 (downstream follows the decision).
        const spanId = ids.generateSpanId();
        state.traceId = traceId;
        state.traceparent = `00-${traceId}-${spanId}-00`;
        const unsampled = trace.setSpanContext(ROOT_CONTEXT, {
          traceId,
          spanId,
          traceFlags: 0,
          traceState: parent === null ? undefined : traceState(req.headers.get("tracestate")),
        });
        return contextManager.with(unsampled, serve);
      }
      const remote =
        parent === null
          ? ROOT_CONTEXT
          : trace.setSpanContext(ROOT_CONTEXT, {
              ...parent,
              isRemote: true,
              traceState: traceState(req.headers.get("tracestate")),
            });
      // A root span gets the trace id the decision was taken on.
      if (parent === null) ids.next = traceId;
      const method = req.method;
      const span = tracer.startSpan(method, { kind: SpanKind.SERVER }, remote);
      span.setAttribute("http.request.method", method);
      span.setAttribute("url.path", pathOf(req.url));
      const sc = span.spanContext();
      state.traceId = sc.traceId;
      state.traceparent = `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & 1}`;
      const answered = (res: Response) => {
        if (state.route !== "unmatched") {
          span.updateName(`${method} ${state.route}`);
          span.setAttribute("http.route", state.route);
        }
        span.setAttribute("http.response.status_code", res.status);
        if (res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
        return res;
      };
      const failed = (err: unknown): never => {
        fail(span, err);
        span.end();
        throw err;
      };
      let out: Response | Promise<Response>;
      try {
        out = contextManager.with(trace.setSpan(remote, span), serve);
      } catch (err) {
        return failed(err);
      }
      return out instanceof Promise ? out.then(answered, failed) : answered(out);
    },

    run,
    runSync,

    inject: (carrier) => {
      propagator.inject(context.active(), carrier, {
        set: (c, k, v) => {
          c[k] = v;
        },
      });
      return carrier;
    },

    instrumentAws: (client: AwsClient, service) => {
      const system = { dynamodb: "DynamoDB", sqs: "SQS", sns: "SNS" }[service];
      type Handler = (args: { input: unknown }) => Promise<unknown>;
      const middleware =
        (next: Handler, ctx: { commandName?: string }): Handler =>
        (args) => {
          if (!inTrace()) return next(args);
          const op = (ctx.commandName ?? "").replace(/Command$/, "");
          const input = (args.input ?? {}) as Record<string, unknown>;
          const table = typeof input.TableName === "string" ? input.TableName : undefined;
          const queue = typeof input.QueueUrl === "string" ? input.QueueUrl.split("/").pop() : undefined;
          const target = table ?? queue;
          return run(
            target === undefined ? op : `${op} ${target}`,
            {
              kind: "client",
              attributes: {
                "rpc.system": "aws-api",
                "rpc.service": system,
                "rpc.method": op,
                ...(service === "dynamodb"
                  ? { "db.system.name": "aws.dynamodb", "aws.dynamodb.table_names": table }
                  : { "messaging.system": `aws_${service}`, "messaging.destination.name": queue }),
              },
            },
            () => next(args),
          );
        };
      // One middleware for the three clients, whose stacks differ only in their input and output types.
      (client.middlewareStack.add as (m: typeof middleware, o: object) => void).call(
        client.middlewareStack,
        middleware,
        {
          step: "initialize",
          name: "shopTracing",
        },
      );
    },

    instrumentPostgres: (client: PgClientLike, database) => {
      const query = client.query as (...args: unknown[]) => unknown;
      client.query = ((...args: unknown[]) => {
        if (!inTrace()) return query.apply(client, args);
        const first = args[0];
        const text =
          typeof first === "string"
            ? first
            : typeof first === "object" && first !== null && "text" in first
              ? String(first.text)
              : "";
        const operation = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? "QUERY";
        const span = tracer.startSpan(operation, {
          kind: SpanKind.CLIENT,
          attributes: clean({
            "db.system.name": "postgresql",
            "db.namespace": database,
            "db.operation.name": operation,
            "db.query.text": text.slice(0, 500),
          }),
        });
        const done = (err?: unknown) => {
          if (err) fail(span, err);
          span.end();
        };
        const last = args[args.length - 1];
        // pg-pool's own query() passes a callback; our code awaits the promise.
        if (typeof last === "function") {
          args[args.length - 1] = (err: unknown, res: unknown) => {
            done(err);
            return (last as (e: unknown, r: unknown) => unknown)(err, res);
          };
          return query.apply(client, args);
        }
        const result = query.apply(client, args) as Promise<unknown>;
        result.then(
          () => done(),
          (err) => done(err),
        );
        return result;
      }) as never;
    },

    shutdown: async (timeoutMs) => {
      unsubscribeRedis();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const bound = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([provider.shutdown().catch(() => {}), bound]);
      clearTimeout(timer);
      contextManager.disable();
    },
  };
}

interface RedisCommandTrace {
  command: string;
  args: string[];
  serverAddress?: string;
  serverPort?: number;
  error?: unknown;
  span?: Span;
}

/**
 * node-redis publishes every command on the `node-redis:command` tracing channel; a subscriber costs
 * nothing to processes that trace nothing, and no client needs wrapping.
 */
function subscribeRedis(tracer: ReturnType<TracerProvider["getTracer"]>, inTrace: () => boolean) {
  if (typeof dc.tracingChannel !== "function") return () => {};
  const channel = dc.tracingChannel("node-redis:command");
  const end = (msg: RedisCommandTrace) => {
    const span = msg.span;
    if (span === undefined) return;
    msg.span = undefined;
    if (msg.error !== undefined) fail(span, msg.error);
    span.end();
  };
  const handlers = {
    start: (message: unknown) => {
      if (!inTrace()) return;
      const msg = message as RedisCommandTrace;
      msg.span = tracer.startSpan(msg.command, {
        kind: SpanKind.CLIENT,
        attributes: clean({
          "db.system.name": "redis",
          "db.operation.name": msg.command,
          "db.query.text": msg.args.join(" ").slice(0, 200),
          "server.address": msg.serverAddress,
          "server.port": msg.serverPort,
        }),
      });
    },
    end: () => {},
    asyncStart: () => {},
    asyncEnd: (message: unknown) => end(message as RedisCommandTrace),
    error: (message: unknown) => end(message as RedisCommandTrace),
  };
  channel.subscribe(handlers);
  return () => channel.unsubscribe(handlers);
}
