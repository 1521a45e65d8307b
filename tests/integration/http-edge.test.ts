/**
 * The HTTP edge under hostile input, on both runtimes, over raw sockets: body sizes declared and
 * chunked up to 200 MB, oversized heads, unknown methods, broken encodings, aborted uploads. What
 * the app answers has the uniform error body; what the runtime answers itself, before our code runs,
 * is pinned here exactly as docs/http-edge.md describes it, so a runtime upgrade that changes it fails.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { metric } from "../helpers/http.ts";
import {
  chunkedBody,
  type RawRequest,
  type RawResponse,
  rawRequest,
  streamedBody,
} from "../helpers/raw-http.ts";
import { denoCommand, type Spawned, spawnShop } from "../helpers/shop.ts";

const LIMIT = 65536;
const MB = 1024 * 1024;

function expectUniform(r: RawResponse, status: number, code: string): Record<string, unknown> {
  expect({ outcome: r.outcome, status: r.status }).toEqual({ outcome: "response", status });
  expect(r.headers["content-type"]).toContain("application/json");
  const body = JSON.parse(r.body) as Record<string, unknown>;
  expect(body.error).toBe(code);
  expect(typeof body.message).toBe("string");
  return body;
}

const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

/** The request's outcome and how far the server's resident memory rose above where it started. */
async function withPeakRss(pid: number, send: () => Promise<RawResponse>) {
  const before = rssMb(pid);
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 5);
  try {
    const res = await send();
    peak = Math.max(peak, rssMb(pid));
    return { res, growthMb: peak - before };
  } finally {
    clearInterval(sampler);
  }
}

const product = (sku: string) =>
  `{"product_id":5,"sku":${sku},"manufacturer":"m","category_id":1,"weight":1,"some_other_id":1}`;

for (const runtime of ["bun", "deno"] as const) {
  describe(`HTTP edge under ${runtime}`, () => {
    let shop: Spawned;
    let port: number;
    const send = (req: RawRequest, timeoutMs?: number) => rawRequest(port, req, timeoutMs);
    const postDetails = (headers: Record<string, string>, body: RawRequest["body"]) =>
      send({ method: "POST", path: "/products/5/details", headers, body });

    beforeAll(async () => {
      const env = { LOG_LEVEL: "warn", BODY_LIMIT_BYTES: String(LIMIT), DENO_NO_UPDATE_CHECK: "1" };
      shop = await spawnShop(["--role", "all"], env, runtime === "deno" ? denoCommand() : undefined);
      port = Number(new URL(shop.url).port);
    });
    afterAll(async () => {
      shop.proc.kill("SIGTERM");
      expect(await shop.proc.exited).toBe(0);
      // Oversized, aborted and malformed requests are the client's doing: none is an unhandled error.
      expect(await shop.output()).not.toContain("unhandled error");
    });

    test("a POST without a body has none: checkout with no body or Content-Length: 0 reaches the cart", async () => {
      const cart = await fetch(`${shop.url}/shopping-carts`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"customer_id":1}',
      });
      const { shopping_cart_id: id } = (await cart.json()) as { shopping_cart_id: number };
      for (const headers of [{}, { "content-length": "0" }] as Record<string, string>[]) {
        const r = await send({ method: "POST", path: `/shopping-carts/${id}/checkout`, headers });
        expectUniform(r, 400, "CART_EMPTY");
      }
    });

    test("a body of exactly the limit is read; one byte more is 413", async () => {
      const exact = await postDetails(
        { "content-type": "application/json", "content-length": String(LIMIT) },
        streamedBody(LIMIT),
      );
      expectUniform(exact, 400, "INVALID_INPUT");
      const over = await postDetails(
        { "content-type": "application/json", "transfer-encoding": "chunked" },
        chunkedBody(LIMIT + 1),
      );
      expectUniform(over, 413, "PAYLOAD_TOO_LARGE");
    });

    test.each([66_560, 66_561, 100_000, MB, 10 * MB])(
      "a %d-byte body gets 413 with the uniform body, declared or chunked",
      async (size) => {
        const json = { "content-type": "application/json" };
        expectUniform(
          await postDetails({ ...json, "content-length": String(size) }, streamedBody(size)),
          413,
          "PAYLOAD_TOO_LARGE",
        );
        expectUniform(
          await postDetails({ ...json, "transfer-encoding": "chunked" }, chunkedBody(size)),
          413,
          "PAYLOAD_TOO_LARGE",
        );
      },
    );

    test("a 200 MB body, declared or chunked, is never buffered: memory stays flat", async () => {
      const size = 200 * MB;
      const json = { "content-type": "application/json" };
      for (const declared of [true, false]) {
        const framing: Record<string, string> = declared
          ? { "content-length": String(size) }
          : { "transfer-encoding": "chunked" };
        const body = declared ? streamedBody(size) : chunkedBody(size);
        const { res, growthMb } = await withPeakRss(shop.proc.pid, () =>
          postDetails({ ...json, ...framing }, body),
        );
        // Buffering it would add 200 MB; reading and dropping 64 KiB chunks leaves garbage of a few MB.
        expect(growthMb).toBeLessThan(64);
        if (runtime === "deno") expectUniform(res, 413, "PAYLOAD_TOO_LARGE");
        // Bun: past BODY_LIMIT_BYTES + 16 MiB (the discard bound) Bun ends the body itself: a reset or a
        // close (which of the two depends on timing), or its own empty 413 (docs/http-edge.md).
        else expect(res.outcome !== "response" || (res.status === 413 && res.body === "")).toBe(true);
      }
    });

    test("a client that leaves mid-body is a 499 outcome, not a 500", async () => {
      const { connect } = await import("node:net");
      const before = await metric(shop.url, "http_requests_total", 'status="499"');
      for (const framing of ["content-length: 50000", "transfer-encoding: chunked"]) {
        const socket = connect(port, "127.0.0.1");
        await new Promise((resolve) => socket.once("connect", resolve));
        const chunk = framing.startsWith("transfer") ? `3e8\r\n${"x".repeat(1000)}` : "x".repeat(1000);
        socket.write(
          `POST /products/5/details HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${framing}\r\n\r\n${chunk}`,
        );
        await Bun.sleep(100);
        socket.destroy();
      }
      let after = before;
      for (let i = 0; i < 100 && after < before + 2; i++) {
        await Bun.sleep(20);
        after = await metric(shop.url, "http_requests_total", 'status="499"');
      }
      expect(after).toBe(before + 2);
    });

    test("heads up to the 64 KiB limit reach the app: a 60 KB header, a 60 KB URL", async () => {
      expectUniform(
        await send({ path: "/products/5", headers: { "x-big": "a".repeat(60_000) } }),
        404,
        "NOT_FOUND",
      );
      const url = await send({ path: `/products/${"1".repeat(60_000)}` });
      expect((expectUniform(url, 400, "INVALID_INPUT").details as string) ?? "").toContain("productId");
    });

    test("heads past 64 KiB are answered by the runtime itself, without a body", async () => {
      for (const req of [
        { path: `/products/${"1".repeat(70_000)}` },
        { path: "/products/5", headers: { "x-big": "a".repeat(70_000) } },
      ]) {
        const r = await send(req);
        expect({ status: r.status, type: r.headers["content-type"], body: r.body }).toEqual({
          status: runtime === "bun" ? 431 : 400,
          type: undefined,
          body: "",
        });
      }
    });

    test("header counts: Deno's parser stops at 100 fields, Bun's near 200", async () => {
      const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, "v"]));
      expectUniform(await send({ path: "/products/5", headers: many(90) }), 404, "NOT_FOUND");
      const r = await send({ path: "/products/5", headers: many(150) });
      if (runtime === "bun") expectUniform(r, 404, "NOT_FOUND");
      else expect({ status: r.status, body: r.body }).toEqual({ status: 400, body: "" });
      const bun = await send({ path: "/products/5", headers: many(250) });
      if (runtime === "bun")
        expect({ status: bun.status, body: bun.body }).toEqual({ status: 431, body: "" });
    });

    test("any method a resource lacks, defined by HTTP or not, is 405 with Allow; off every route 404", async () => {
      for (const method of ["PATCH", "PROPFIND", "QUERY", "PURGE"]) {
        const r = await send({ method, path: "/products/5" });
        expectUniform(r, 405, "METHOD_NOT_ALLOWED");
        expect(r.headers.allow).toBe("GET");
      }
      expectUniform(await send({ method: "PROPFIND", path: "/nowhere" }), 404, "NOT_FOUND");
      for (const method of ["FOO", "get"]) {
        const r = await send({ method, path: "/products/5" });
        // Bun drops methods outside its fixed list before our code runs (oven-sh/bun#6556).
        if (runtime === "bun") expect(r.outcome).not.toBe("response");
        else expectUniform(r, 405, "METHOD_NOT_ALLOWED");
      }
      // Any method token outside HTTP's is one metrics label, not a series per token.
      const text = await (await fetch(`${shop.url}/metrics`)).text();
      expect(text).not.toContain('method="PROPFIND"');
      expect(text).toContain('method="OTHER",route="unmatched",status="405"');
    });

    test("encodings: invalid UTF-8 is 400, a charset other than UTF-8 is 415", async () => {
      const valid = Buffer.from(product('"ok"'));
      const invalid = Buffer.concat([
        Buffer.from(product('"a').slice(0, -1)),
        Buffer.from([0xff, 0x22, 0x7d]),
      ]);
      const post = (body: Uint8Array, type = "application/json") =>
        postDetails({ "content-type": type, "content-length": String(body.byteLength) }, body);
      expect(expectUniform(await post(invalid), 400, "INVALID_INPUT").message).toContain("UTF-8");
      expectUniform(await post(valid, "application/json; charset=latin1"), 415, "UNSUPPORTED_MEDIA_TYPE");
      expect((await post(valid, 'application/json; charset="UTF-8"')).status).toBe(204);
      expect((await post(Buffer.from(product('"a😀b"')))).status).toBe(204);
    });

    test("NUL and unpaired surrogates are refused in every string; string ids also refuse control characters", async () => {
      for (const sku of ['"a\\u0000b"', '"a\\ud800b"', '"\\udc00"']) {
        const body = Buffer.from(product(sku));
        const r = await postDetails(
          { "content-type": "application/json", "content-length": String(body.length) },
          body,
        );
        expect(expectUniform(r, 400, "INVALID_INPUT").details).toContain("sku");
      }
      for (const id of ["%00", "a%0Ab", "%7F"]) {
        expectUniform(await send({ path: `/orders/${id}` }), 400, "INVALID_INPUT");
      }
    });

    test("after all of it: up, and no request counted as a 5xx", async () => {
      expect((await fetch(`${shop.url}/health`)).status).toBe(200);
      const text = await (await fetch(`${shop.url}/metrics`)).text();
      expect(
        text.split("\n").filter((l) => l.startsWith("http_requests_total") && /status="5/.test(l)),
      ).toEqual([]);
      expect(text).toContain('status="413"');
    });
  });
}
