/**
 * An OTLP/HTTP trace receiver for the tests: accepts POST /v1/traces in protobuf or JSON, decodes every
 * span (with a protobuf reader of its own, so the test does not trust the SDK's encoder to check itself)
 * and keeps them. It can also answer slowly, to play a collector that hangs.
 */

export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  links: { traceId: string; spanId: string }[];
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error. */
  status: number;
}

export const KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

// --- protobuf wire format: just what ExportTraceServiceRequest uses ---

type Field = { no: number; wire: number; value: bigint | Uint8Array };

function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const tag = Number(varint());
    const no = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) yield { no, wire, value: varint() };
    else if (wire === 1) {
      yield { no, wire, value: new DataView(buf.buffer, buf.byteOffset + pos, 8).getBigUint64(0, true) };
      pos += 8;
    } else if (wire === 2) {
      const len = Number(varint());
      yield { no, wire, value: buf.subarray(pos, pos + len) };
      pos += len;
    } else if (wire === 5) pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (v: Field["value"]) => v as Uint8Array;

function anyValue(buf: Uint8Array): string | number | boolean {
  for (const f of fields(buf)) {
    if (f.no === 1) return str(bytes(f.value));
    if (f.no === 2) return f.value === 1n;
    if (f.no === 3) return Number(BigInt.asIntN(64, f.value as bigint));
    if (f.no === 4) return new DataView(new BigUint64Array([f.value as bigint]).buffer).getFloat64(0, true);
    // Arrays (aws.dynamodb.table_names): their elements joined, enough for assertions.
    if (f.no === 5) {
      const items: (string | number | boolean)[] = [];
      for (const e of fields(bytes(f.value))) if (e.no === 1) items.push(anyValue(bytes(e.value)));
      return items.join(",");
    }
  }
  return "";
}

function keyValues(list: Uint8Array[]): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of list) {
    let key = "";
    let value: string | number | boolean = "";
    for (const f of fields(kv)) {
      if (f.no === 1) key = str(bytes(f.value));
      if (f.no === 2) value = anyValue(bytes(f.value));
    }
    out[key] = value;
  }
  return out;
}

function decodeProtobuf(buf: Uint8Array): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of fields(buf)) {
    if (rs.no !== 1) continue;
    let service = "";
    const scopes: Uint8Array[] = [];
    for (const f of fields(bytes(rs.value))) {
      if (f.no === 1) {
        const attrs: Uint8Array[] = [];
        for (const a of fields(bytes(f.value))) if (a.no === 1) attrs.push(bytes(a.value));
        service = String(keyValues(attrs)["service.name"] ?? "");
      }
      if (f.no === 2) scopes.push(bytes(f.value));
    }
    for (const scope of scopes) {
      for (const sf of fields(scope)) {
        if (sf.no !== 2) continue;
        const span: ReceivedSpan = {
          service,
          traceId: "",
          spanId: "",
          parentSpanId: "",
          name: "",
          kind: 0,
          attributes: {},
          links: [],
          status: 0,
        };
        const attrs: Uint8Array[] = [];
        for (const f of fields(bytes(sf.value))) {
          if (f.no === 1) span.traceId = hex(bytes(f.value));
          else if (f.no === 2) span.spanId = hex(bytes(f.value));
          else if (f.no === 4) span.parentSpanId = hex(bytes(f.value));
          else if (f.no === 5) span.name = str(bytes(f.value));
          else if (f.no === 6) span.kind = Number(f.value);
          else if (f.no === 9) attrs.push(bytes(f.value));
          else if (f.no === 13) {
            const link = { traceId: "", spanId: "" };
            for (const l of fields(bytes(f.value))) {
              if (l.no === 1) link.traceId = hex(bytes(l.value));
              if (l.no === 2) link.spanId = hex(bytes(l.value));
            }
            span.links.push(link);
          } else if (f.no === 15) {
            for (const st of fields(bytes(f.value))) if (st.no === 3) span.status = Number(st.value);
          }
        }
        span.attributes = keyValues(attrs);
        spans.push(span);
      }
    }
  }
  return spans;
}

// --- OTLP JSON ---

type JsonAny = {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: JsonAny[] };
};
type JsonKv = { key: string; value: JsonAny };

const jsonValue = (v: JsonAny): string | number | boolean =>
  v.stringValue ??
  v.boolValue ??
  (v.intValue !== undefined ? Number(v.intValue) : undefined) ??
  v.doubleValue ??
  (v.arrayValue?.values ?? []).map(jsonValue).join(",");

const jsonAttrs = (list: JsonKv[] | undefined) =>
  Object.fromEntries((list ?? []).map((kv) => [kv.key, jsonValue(kv.value)]));

function decodeJson(text: string): ReceivedSpan[] {
  const body = JSON.parse(text) as {
    resourceSpans?: {
      resource?: { attributes?: JsonKv[] };
      scopeSpans?: {
        spans?: {
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          name: string;
          kind: number;
          attributes?: JsonKv[];
          links?: { traceId: string; spanId: string }[];
          status?: { code?: number };
        }[];
      }[];
    }[];
  };
  return (body.resourceSpans ?? []).flatMap((rs) => {
    const service = String(jsonAttrs(rs.resource?.attributes)["service.name"] ?? "");
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        service,
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? "",
        name: s.name,
        kind: s.kind,
        attributes: jsonAttrs(s.attributes),
        links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
        status: s.status?.code ?? 0,
      })),
    );
  });
}

export interface Receiver {
  url: string;
  spans: ReceivedSpan[];
  /** Content types of the export requests received, in order. */
  contentTypes: string[];
  /** Hold every answer this long (a collector that hangs); 0 answers at once. */
  delayMs: number;
  stop(): Promise<void>;
}

export function startReceiver(): Receiver {
  const receiver: Receiver = {
    url: "",
    spans: [],
    contentTypes: [],
    delayMs: 0,
    stop: async () => {
      await server.stop(true);
    },
  };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method !== "POST" || url.pathname !== "/v1/traces") return new Response("no", { status: 404 });
      const type = req.headers.get("content-type") ?? "";
      const body = new Uint8Array(await req.arrayBuffer());
      if (receiver.delayMs > 0) await Bun.sleep(receiver.delayMs);
      receiver.contentTypes.push(type);
      const spans = type.includes("json") ? decodeJson(str(body)) : decodeProtobuf(body);
      receiver.spans.push(...spans);
      return type.includes("json")
        ? Response.json({})
        : new Response(new Uint8Array(0), { headers: { "content-type": "application/x-protobuf" } });
    },
  });
  receiver.url = `http://127.0.0.1:${server.port}`;
  return receiver;
}

/** Environment for a shop process exporting to `url` quickly (tests wait for spans, not for five seconds). */
export const tracingEnv = (url: string, extra: Record<string, string> = {}): Record<string, string> => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: url,
  OTEL_BSP_SCHEDULE_DELAY: "50",
  ...extra,
});

/** The W3C traceparent of a fresh sampled trace, as a client would send it. */
export function newTraceparent(sampled = true): { header: string; traceId: string; spanId: string } {
  const traceId = hex(crypto.getRandomValues(new Uint8Array(16)));
  const spanId = hex(crypto.getRandomValues(new Uint8Array(8)));
  return { header: `00-${traceId}-${spanId}-${sampled ? "01" : "00"}`, traceId, spanId };
}
