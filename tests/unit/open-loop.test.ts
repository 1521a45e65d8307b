/**
 * The open-loop generator's arithmetic (bench/lib.ts): the schedule, latency from the intended send
 * time, percentiles, and the response framing; then one short run of the generator itself against a
 * server in this process, asserting counts and statuses (never timings).
 */
import { describe, expect, test } from "bun:test";
import { dueBy, intendedAt, openLoop, percentile, ResponseStream, summarise } from "../../bench/lib.ts";

describe("schedule", () => {
  test("request i is due at t0 + i/rate, whatever happened to the ones before it", () => {
    expect(intendedAt(1000, 0, 500)).toBe(1000);
    expect(intendedAt(1000, 1, 500)).toBe(1002);
    expect(intendedAt(1000, 500, 500)).toBe(2000);
    expect(intendedAt(0, 3, 4000)).toBe(0.75);
  });

  test("dueBy counts the requests whose intended time has come, capped at the total", () => {
    expect(dueBy(100, 99, 1000, 10)).toBe(0);
    expect(dueBy(100, 100, 1000, 10)).toBe(1); // request 0 at t0
    expect(dueBy(100, 100.999, 1000, 10)).toBe(1);
    expect(dueBy(100, 101, 1000, 10)).toBe(2);
    expect(dueBy(100, 105.5, 1000, 10)).toBe(6);
    expect(dueBy(100, 10_000, 1000, 10)).toBe(10);
  });

  test("a generator woken late sends the whole backlog at once and never skips one", () => {
    const rate = 2000;
    const total = 2000;
    let sent = 0;
    const sends: number[] = [];
    // Wake-ups every 0.3 ms, with one 50 ms stall of the generator in the middle.
    for (let now = 0; sent < total; now += now > 400 && now < 450 ? 50 : 0.3) {
      const due = dueBy(0, now, rate, total);
      for (; sent < due; sent++) sends.push(sent);
    }
    expect(sends).toEqual(Array.from({ length: total }, (_, i) => i));
  });
});

describe("latency from the intended send time (no coordinated omission)", () => {
  test("a 100 ms server stall counts against every request due during it, not once", () => {
    const rate = 1000;
    // 1 s of requests; the server answers 1 ms after the intended time, except that nothing is
    // answered between 200 and 300 ms: what was due then is answered at 300 ms.
    const latencies = Array.from({ length: 1000 }, (_, i) => {
      const due = intendedAt(0, i, rate);
      const answered = due >= 200 && due < 300 ? 300 : due + 1;
      return answered - due;
    });
    const s = summarise(latencies);
    expect(s.count).toBe(1000);
    expect(s.p50Ms).toBe(1);
    // 100 of 1000 requests waited 1..100 ms: the stall is the top decile, so p99 is ~90 ms.
    expect(s.p99Ms).toBe(90);
    expect(s.maxMs).toBe(100);
    // A closed-loop client would have sent one request into the stall and seen one slow answer.
    expect(latencies.filter((l) => l > 1).length).toBe(99);
  });

  test("unanswered requests count as infinitely slow", () => {
    const s = summarise([1, 2, 3, Number.POSITIVE_INFINITY]);
    expect(s.p50Ms).toBe(2);
    expect(s.p99Ms).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("percentile", () => {
  test("nearest rank", () => {
    const sorted = Float64Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(500);
    expect(percentile(sorted, 99)).toBe(990);
    expect(percentile(sorted, 99.9)).toBe(999);
    expect(percentile(sorted, 100)).toBe(1000);
    expect(percentile([7], 99.9)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe("response stream", () => {
  const response = (status: number, body: string) =>
    `HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

  test("pipelined responses split at every byte come out in order, each once", () => {
    const text =
      response(200, '{"a":1}') + response(404, "{}") + response(204, "") + response(503, "x".repeat(300));
    const bytes = Buffer.from(text);
    for (let cut = 1; cut < bytes.length; cut += 7) {
      const stream = new ResponseStream();
      const out = [...stream.push(bytes.subarray(0, cut)), ...stream.push(bytes.subarray(cut))];
      expect(out).toEqual([200, 404, 204, 503]);
    }
    const stream = new ResponseStream();
    const one = Array.from(bytes).flatMap((b) => stream.push(Uint8Array.of(b)));
    expect(one).toEqual([200, 404, 204, 503]);
  });

  test("a chunked response is refused rather than misread", () => {
    const stream = new ResponseStream();
    expect(() =>
      stream.push(Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")),
    ).toThrow("chunked");
  });
});

test("the generator sends every scheduled request and reads every answer", async () => {
  let seen = 0;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: async (req) => {
      seen++;
      if (req.method === "POST") await req.text();
      return new URL(req.url).pathname.endsWith("/7")
        ? new Response("no", { status: 404 })
        : Response.json({ ok: 1 });
    },
  });
  try {
    const url = `http://127.0.0.1:${server.port}`;
    const get = await openLoop(url, {
      rate: 400,
      seconds: 1,
      warmupSeconds: 0.25,
      connections: 4,
      workload: { kind: "get", pathPrefix: "/products/", ids: 10 },
    });
    expect(seen).toBe(400);
    expect(get.measured).toBe(300);
    expect(get.answered).toBe(300);
    expect(get.unanswered).toBe(0);
    expect((get.statuses["2xx"] ?? 0) + (get.statuses["4xx"] ?? 0)).toBe(300);
    expect(get.statuses["4xx"]).toBeGreaterThan(0);
    expect(get.p50Ms).toBeLessThanOrEqual(get.p99Ms);
    expect(get.p99Ms).toBeLessThanOrEqual(get.p999Ms);
    const bids = await openLoop(url, {
      rate: 200,
      seconds: 1,
      connections: 2,
      workload: { kind: "bid", path: "/api/v1/items/x/bid" },
    });
    expect(bids).toMatchObject({ measured: 200, answered: 200, unanswered: 0, statuses: { "2xx": 200 } });
    expect(seen).toBe(600);
  } finally {
    await server.stop(true);
  }
});
