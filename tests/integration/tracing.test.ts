/**
 * Tracing's core, on shop processes of their own (tracing is process-wide, so never in the test
 * process): off unless OTEL_EXPORTER_OTLP_ENDPOINT is set, W3C traceparent continued and returned, the
 * trace id in the request's log lines, both OTLP encodings, sampling, and a collector that is down or
 * hangs never failing a request (spans dropped and counted instead).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { builtBinary } from "../helpers/binary.ts";
import { eventually, metric } from "../helpers/http.ts";
import { KIND, newTraceparent, type Receiver, startReceiver, tracingEnv } from "../helpers/otlp.ts";
import { denoCommand, freePort, type Spawned, spawnShop } from "../helpers/shop.ts";

let receiver: Receiver;
beforeAll(() => {
  receiver = startReceiver();
});
afterAll(async () => {
  await receiver.stop();
});

async function stopped(p: Spawned): Promise<string> {
  p.proc.kill("SIGTERM");
  expect(await p.proc.exited).toBe(0);
  return p.output();
}

const requestLines = (output: string) =>
  output
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === "request");

const spansOf = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);

test("off without OTEL_EXPORTER_OTLP_ENDPOINT: no traceparent answered, no trace id logged, no span metrics", async () => {
  const shop = await spawnShop(["--role", "api"], { LOG_LEVEL: "debug", LOG_SAMPLE_RATE: "1" });
  const res = await fetch(`${shop.url}/products/1`, { headers: { traceparent: newTraceparent().header } });
  expect(res.status).toBe(404);
  expect(res.headers.get("traceparent")).toBeNull();
  const metrics = await (await fetch(`${shop.url}/metrics`)).text();
  expect(metrics).not.toContain("otel_spans");
  const lines = requestLines(await stopped(shop));
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(line.trace_id).toBeUndefined();
});

describe.each(["http/protobuf", "http/json"])("exporting over %s", (protocol) => {
  let shop: Spawned;
  beforeAll(async () => {
    shop = await spawnShop(
      ["--role", "api"],
      tracingEnv(receiver.url, {
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        LOG_LEVEL: "debug",
        LOG_SAMPLE_RATE: "1",
      }),
    );
  });

  test("a request's traceparent is continued: the server span is its child, named by the route template", async () => {
    const client = newTraceparent();
    const res = await fetch(`${shop.url}/products/12345`, {
      headers: { traceparent: client.header, "x-request-id": `req-${protocol.replace("/", "-")}` },
    });
    expect(res.status).toBe(404);
    const answered = res.headers.get("traceparent") ?? "";
    const [version, traceId, spanId, flags] = answered.split("-");
    expect({ version, traceId, flags }).toEqual({ version: "00", traceId: client.traceId, flags: "01" });
    expect(spanId).not.toBe(client.spanId);

    const [server] = await eventually(async () => {
      const s = spansOf(client.traceId);
      return s.length > 0 ? s : undefined;
    });
    expect(server).toMatchObject({
      service: "shop-api",
      spanId,
      parentSpanId: client.spanId,
      name: "GET /products/:productId",
      kind: KIND.server,
      attributes: {
        "http.request.method": "GET",
        "http.route": "/products/:productId",
        "url.path": "/products/12345",
        "http.response.status_code": 404,
      },
    });
    expect(receiver.contentTypes).toContain(
      protocol === "http/json" ? "application/json" : "application/x-protobuf",
    );
  });

  test("a request without traceparent starts a trace of its own and is told its traceparent", async () => {
    const res = await fetch(`${shop.url}/health`);
    const [, traceId, spanId] = (res.headers.get("traceparent") ?? "").split("-");
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const span = await eventually(async () => spansOf(traceId ?? "")[0]);
    expect(span).toMatchObject({ spanId, parentSpanId: "", name: "GET /health" });
  });

  test("the request's log line carries the trace id next to the request id", async () => {
    const client = newTraceparent();
    const requestId = `log-${protocol.replace("/", "-")}`;
    await fetch(`${shop.url}/products/7`, {
      headers: { traceparent: client.header, "x-request-id": requestId },
    });
    const output = await stopped(shop);
    const line = requestLines(output).find((l) => l.request_id === requestId);
    expect(line).toMatchObject({ request_id: requestId, trace_id: client.traceId });
  });
});

describe("sampling", () => {
  test("parentbased_traceidratio at 0: a sampled parent is followed, new traces are not recorded", async () => {
    const shop = await spawnShop(
      ["--role", "api"],
      tracingEnv(receiver.url, {
        OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
        OTEL_TRACES_SAMPLER_ARG: "0",
        OTEL_SERVICE_NAME: "sampling-test",
      }),
    );
    const sampled = newTraceparent(true);
    const unsampled = newTraceparent(false);
    const a = await fetch(`${shop.url}/products/1`, { headers: { traceparent: sampled.header } });
    const b = await fetch(`${shop.url}/products/2`, { headers: { traceparent: unsampled.header } });
    const fresh = await Promise.all(Array.from({ length: 20 }, () => fetch(`${shop.url}/products/3`)));
    expect(a.headers.get("traceparent")?.endsWith("-01")).toBe(true);
    expect(b.headers.get("traceparent")?.endsWith("-00")).toBe(true);
    for (const r of fresh) expect(r.headers.get("traceparent")?.endsWith("-00")).toBe(true);
    // Stopping flushes whatever was recorded: afterwards the receiver has all of it.
    await stopped(shop);
    const mine = receiver.spans.filter((s) => s.service === "sampling-test");
    expect(mine.map((s) => s.traceId)).toEqual([sampled.traceId]);
  });

  test("always_off records nothing, yet the trace id still reaches the logs and the answer", async () => {
    const shop = await spawnShop(
      ["--role", "api"],
      tracingEnv(receiver.url, {
        OTEL_TRACES_SAMPLER: "always_off",
        OTEL_SERVICE_NAME: "off-test",
        LOG_LEVEL: "debug",
        LOG_SAMPLE_RATE: "1",
      }),
    );
    const client = newTraceparent(true);
    const res = await fetch(`${shop.url}/products/1`, { headers: { traceparent: client.header } });
    expect(res.headers.get("traceparent")).toStartWith(`00-${client.traceId}-`);
    const output = await stopped(shop);
    expect(requestLines(output).some((l) => l.trace_id === client.traceId)).toBe(true);
    expect(receiver.spans.filter((s) => s.service === "off-test")).toEqual([]);
  });
});

describe("a collector that cannot take the spans never fails a request", () => {
  const burst = async (url: string, n: number) => {
    const answers = await Promise.all(Array.from({ length: n }, () => fetch(`${url}/health`)));
    return answers.map((r) => r.status);
  };

  test("down (nothing listens): every request succeeds and the failed exports are counted as dropped", async () => {
    const shop = await spawnShop(
      ["--role", "api"],
      tracingEnv(`http://127.0.0.1:${freePort()}`, { OTEL_EXPORTER_OTLP_TIMEOUT: "500" }),
    );
    for (let round = 0; round < 5; round++)
      expect(new Set(await burst(shop.url, 50))).toEqual(new Set([200]));
    const dropped = await eventually(async () => {
      const n = await metric(shop.url, "otel_spans_dropped_total");
      return n > 0 ? n : undefined;
    }, 20_000);
    expect(dropped).toBeGreaterThan(0);
    expect(await metric(shop.url, "otel_spans_exported_total")).toBe(0);
    await stopped(shop);
  });

  test("hanging (answers after 5 s): requests keep succeeding, the bounded queue drops and counts the overflow", async () => {
    const slow = startReceiver();
    slow.delayMs = 5000;
    const shop = await spawnShop(
      ["--role", "api"],
      tracingEnv(slow.url, {
        OTEL_BSP_MAX_QUEUE_SIZE: "20",
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "10",
        OTEL_EXPORTER_OTLP_TIMEOUT: "30000",
      }),
    );
    for (let round = 0; round < 4; round++)
      expect(new Set(await burst(shop.url, 50))).toEqual(new Set([200]));
    expect(await metric(shop.url, "otel_spans_dropped_total", 'reason="queue_full"')).toBeGreaterThan(0);
    shop.proc.kill("SIGTERM");
    // The flush at stop is bounded too: a hanging collector does not hold the process.
    expect(await shop.proc.exited).toBe(0);
    await slow.stop();
  });
});

// The SDK is loaded by import() only when configured: the bundled binary and Deno must find and run it.
describe.each([
  ["the compiled binary", () => [builtBinary()]],
  ["Deno", denoCommand],
])("on %s", (_, command) => {
  test("spans are exported and the request's traceparent continued", async () => {
    const service = `runtime-${Math.random().toString(36).slice(2, 8)}`;
    const shop = await spawnShop(
      ["--role", "api"],
      tracingEnv(receiver.url, { OTEL_SERVICE_NAME: service, DENO_NO_UPDATE_CHECK: "1" }),
      command(),
    );
    const client = newTraceparent();
    const res = await fetch(`${shop.url}/products/9`, { headers: { traceparent: client.header } });
    expect(res.headers.get("traceparent")).toStartWith(`00-${client.traceId}-`);
    const span = await eventually(async () => spansOf(client.traceId)[0], 20_000);
    expect(span).toMatchObject({ service, name: "GET /products/:productId", parentSpanId: client.spanId });
    await stopped(shop);
  });
});
