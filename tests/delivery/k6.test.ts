/**
 * The k6 suite without k6 (it is not installable on the development machines): the scripts type-check
 * against @types/k6; loaded with stand-ins for k6's modules, their options, thresholds and summaries are
 * consistent; and one iteration of every scenario runs against an in-process stand-in that follows the
 * contracts. k6/run-suite.sh is run with a fake `k6` against the real shop.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { freePort, MAIN, ROOT } from "../helpers/shop.ts";

const SCENARIOS = ["products", "flash-sale", "orders", "bidding", "ws-fanout", "soak"];

test("the k6 scripts type-check against @types/k6, every scenario included", () => {
  const check = Bun.spawnSync([`${ROOT}node_modules/.bin/tsc`, "-p", `${ROOT}k6`], { stdout: "pipe" });
  expect({ code: check.exitCode, out: check.stdout.toString() }).toEqual({ code: 0, out: "" });
  const list = Bun.spawnSync([`${ROOT}node_modules/.bin/tsc`, "-p", `${ROOT}k6`, "--listFilesOnly"], {
    stdout: "pipe",
  });
  const listed = list.stdout.toString();
  for (const s of SCENARIOS) expect(listed).toContain(`${ROOT}k6/${s}.js`);
});

// ---- stand-ins for k6's modules -------------------------------------------------------------------

interface FakeResponse {
  status: number;
  body: string;
  json(): unknown;
}
type Route = (
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
) => [number, unknown];

const metrics = new Map<string, { kind: string; values: number[] }>();
const checks: { name: string; ok: boolean }[] = [];
const sockets: FakeSocket[] = [];
let route: Route = () => [404, {}];

class Metric {
  constructor(
    readonly name: string,
    kind: string,
  ) {
    metrics.set(name, { kind, values: [] });
  }
  add(value: number) {
    metrics.get(this.name)?.values.push(value);
  }
}

class FakeSocket {
  onmessage: (event: { data: string }) => void = () => {};
  onerror: (event: unknown) => void = () => {};
  closed = false;
  constructor(readonly url: string) {
    sockets.push(this);
  }
  close() {
    this.closed = true;
  }
}

function request(method: string, url: string, body: unknown, params?: { headers?: Record<string, string> }) {
  const path = new URL(url).pathname;
  const parsed = typeof body === "string" && body !== "" ? JSON.parse(body) : undefined;
  const [status, out] = route(method, path, parsed, params?.headers ?? {});
  const text = out === undefined ? "" : JSON.stringify(out);
  return { status, body: text, json: () => JSON.parse(text) } satisfies FakeResponse;
}

Bun.plugin({
  name: "k6 stand-ins",
  setup(build) {
    build.module("k6", () => ({
      loader: "object",
      exports: {
        check: (value: unknown, sets: Record<string, (v: unknown) => boolean>) => {
          let all = true;
          for (const [name, fn] of Object.entries(sets)) {
            const ok = fn(value);
            checks.push({ name, ok });
            all &&= ok;
          }
          return all;
        },
        sleep: () => {},
      },
    }));
    const http = {
      get: (url: string, params?: { headers?: Record<string, string> }) =>
        request("GET", url, undefined, params),
      post: (url: string, body: unknown, params?: { headers?: Record<string, string> }) =>
        request("POST", url, body, params),
      put: (url: string, body: unknown, params?: { headers?: Record<string, string> }) =>
        request("PUT", url, body, params),
      batch: (
        reqs: { method: string; url: string; body: unknown; params?: { headers?: Record<string, string> } }[],
      ) => reqs.map((r) => request(r.method, r.url, r.body, r.params)),
      expectedStatuses: (...codes: number[]) => ({ codes }),
    };
    build.module("k6/http", () => ({ loader: "object", exports: { default: http, ...http } }));
    build.module("k6/metrics", () => ({
      loader: "object",
      exports: {
        Counter: class extends Metric {
          constructor(name: string) {
            super(name, "counter");
          }
        },
        Trend: class extends Metric {
          constructor(name: string) {
            super(name, "trend");
          }
        },
      },
    }));
    build.module("k6/timers", () => ({ loader: "object", exports: { setTimeout: () => 0 } }));
    build.module("k6/websockets", () => ({ loader: "object", exports: { WebSocket: FakeSocket } }));
  },
});

const g = globalThis as unknown as Record<string, unknown>;
g.__ENV = { BASE_URL: "http://shop.test", RUN_ID: "test", K6_RESULTS_DIR: "out" };
g.__VU = 1;
g.__ITER = 0;

/** The same contracts as the smoke test's stand-in, answered synchronously as k6's http is synchronous. */
function contractRoutes(): Route {
  const stock = new Map<number, number>();
  const carts = new Map<number, { product_id: number; quantity: number }[]>();
  const items = new Map<string, { current_bid: number | null; bid_count: number; start_price: number }>();
  let nextId = 1;
  type Handler = (
    m: RegExpMatchArray,
    b: Record<string, unknown>,
    headers: Record<string, string>,
  ) => [number, unknown];
  const routes: [string, RegExp, Handler][] = [
    ["GET", /^\/health$/, () => [200, { status: "ok" }]],
    [
      "POST",
      /^\/products\/(\d+)\/details$/,
      (m, b) => [b.product_id === Number(m[1]) ? 204 : 400, undefined],
    ],
    ["GET", /^\/products\/\d+$/, () => [200, { product_id: 1 }]],
    [
      "PUT",
      /^\/warehouse\/stock\/(\d+)$/,
      (m, b, headers) => {
        if (headers.Authorization !== "Bearer admin") return [401, { error: "UNAUTHORIZED" }];
        stock.set(Number(m[1]), Number(b.quantity));
        return [204, undefined];
      },
    ],
    [
      "POST",
      /^\/shopping-carts$/,
      () => {
        carts.set(nextId, []);
        return [201, { shopping_cart_id: nextId++ }];
      },
    ],
    [
      "POST",
      /^\/shopping-carts\/(\d+)\/items$/,
      (m, b) => {
        carts.get(Number(m[1]))?.push(b as { product_id: number; quantity: number });
        return [204, undefined];
      },
    ],
    [
      "POST",
      /^\/shopping-carts\/(\d+)\/checkout$/,
      (m) => {
        const lines = carts.get(Number(m[1])) ?? [];
        const short = lines.filter((l) => (stock.get(l.product_id) ?? 0) < l.quantity);
        if (short.length > 0) return [400, { error: "INSUFFICIENT_STOCK", data: { lines: short } }];
        for (const l of lines) stock.set(l.product_id, (stock.get(l.product_id) ?? 0) - l.quantity);
        return [200, { order_id: nextId++ }];
      },
    ],
    ["POST", /^\/orders\/sync$/, (_m, b) => [200, { order_id: b.order_id, status: "completed" }]],
    [
      "POST",
      /^\/orders\/async$/,
      (_m, b) => [202, { order_id: b.order_id, status: "pending", message_id: "m-1" }],
    ],
    [
      "POST",
      /^\/api\/v1\/items$/,
      (_m, b) => {
        items.set(String(b.item_id), { current_bid: null, bid_count: 0, start_price: Number(b.start_price) });
        return [201, b];
      },
    ],
    [
      "GET",
      /^\/api\/v1\/items\/([\w-]+)$/,
      (m) => {
        const item = items.get(m[1] ?? "");
        return item ? [200, { item_id: m[1], ...item }] : [404, { error: "NOT_FOUND" }];
      },
    ],
    [
      "POST",
      /^\/api\/v1\/items\/([\w-]+)\/bid$/,
      (m, b) => {
        const item = items.get(m[1] ?? "");
        if (!item) return [404, { error: "NOT_FOUND" }];
        const min =
          item.current_bid === null ? item.start_price : (Math.round(item.current_bid * 100) + 1) / 100;
        const amount = Number(b.amount);
        if (amount < min) {
          return [409, { error: "BID_TOO_LOW", data: { current_bid: item.current_bid, min_next_bid: min } }];
        }
        const previous = item.current_bid;
        item.current_bid = amount;
        item.bid_count++;
        return [201, { accepted: true, bid_id: `b${nextId++}`, amount, previous_bid: previous }];
      },
    ],
  ];
  return (method, path, body, headers) => {
    for (const [verb, pattern, handler] of routes) {
      const m = verb === method ? path.match(pattern) : null;
      if (m) return handler(m, (body ?? {}) as Record<string, unknown>, headers);
    }
    return [404, { error: "NOT_FOUND", message: `${method} ${path}` }];
  };
}

type Script = Record<string, unknown> & {
  options: { scenarios: Record<string, { exec?: string }>; thresholds: Record<string, string[]> };
  handleSummary(data: unknown): Record<string, string>;
};

const BUILT_IN = new Set([
  "http_reqs",
  "http_req_duration",
  "http_req_failed",
  "checks",
  "iterations",
  "dropped_iterations",
]);

const scripts: Record<string, Script> = {};
beforeAll(async () => {
  (g.__ENV as Record<string, string>).ADMIN_TOKEN = "admin";
  for (const s of SCENARIOS) scripts[s] = (await import(`${ROOT}k6/${s}.js`)) as Script;
});

describe("k6 scenario definitions", () => {
  for (const s of SCENARIOS) {
    test(`${s}: thresholds and figures name metrics that exist, execs name exported functions`, () => {
      const script = scripts[s] as Script;
      const known = (name: string) => BUILT_IN.has(name) || metrics.has(name);
      for (const key of Object.keys(script.options.thresholds)) {
        expect({ key, known: known(key.split("{")[0] ?? "") }).toEqual({ key, known: true });
      }
      for (const scenario of Object.values(script.options.scenarios)) {
        expect(typeof script[scenario.exec ?? "default"]).toBe("function");
      }
      const out = script.handleSummary({ metrics: {} });
      const stem =
        Object.keys(out)
          .find((k) => k.endsWith(".json"))
          ?.slice(0, -".json".length) ?? "";
      expect(stem).toMatch(new RegExp(`^out/${s}(-\\w+)?$`));
      expect(Object.keys(out).sort()).toEqual([`${stem}.json`, `${stem}.txt`, "stdout"]);
      const jsonFile = `${stem}.json`;
      const summary = JSON.parse(out[jsonFile] ?? "{}") as {
        scenario: string;
        figures: { metric: string; value?: unknown }[];
      };
      expect(summary.figures.length).toBeGreaterThan(0);
      for (const f of summary.figures) {
        // k6 reports a tagged sub-metric only when a threshold names it; computed figures carry no metric.
        if (f.metric.includes("{")) expect(Object.keys(script.options.thresholds)).toContain(f.metric);
        else if (!/[ /]/.test(f.metric))
          expect({ metric: f.metric, known: known(f.metric) }).toEqual({ metric: f.metric, known: true });
      }
      expect(out.stdout).toContain(`k6 scenario ${summary.scenario}`);
    });
  }
});

describe("one iteration of every scenario against the contracts", () => {
  beforeAll(() => {
    route = contractRoutes();
  });

  const run = (s: string, exec = "default") => {
    const script = scripts[s] as Script;
    const data = typeof script.setup === "function" ? (script.setup as () => unknown)() : undefined;
    checks.length = 0;
    for (let i = 0; i < 3; i++) (script[exec] as (d: unknown) => void)(data);
    return { data, failed: checks.filter((c) => !c.ok).map((c) => c.name) };
  };

  test("products: reads, writes and health all succeed", () => {
    expect(run("products").failed).toEqual([]);
  });

  test("flash sale: sells out exactly, then answers sold out", () => {
    const sold = metrics.get("flash_checkouts_ok");
    const before = sold?.values.length ?? 0;
    const script = scripts["flash-sale"] as Script;
    const data = (script.setup as () => { productIds: number[] })();
    checks.length = 0;
    // 3 products × 100 units: 400 customers buy it all and the last 100 are turned away.
    for (let i = 0; i < 400; i++) (script.default as (d: unknown) => void)(data);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect((sold?.values.length ?? 0) - before).toBe(300);
    expect(metrics.get("flash_checkouts_sold_out")?.values.length).toBe(100);
  });

  test("orders: sync completes and async is accepted", () => {
    expect(run("orders", "syncOrders").failed).toEqual([]);
    expect(run("orders", "asyncOrders").failed).toEqual([]);
  });

  test("bidding: each bid reads the price and bids above it; the teardown sees the final price", () => {
    const { data, failed } = run("bidding");
    expect(failed).toEqual([]);
    expect(metrics.get("bids_accepted")?.values.length).toBe(3);
    ((scripts.bidding as Script).teardown as (d: unknown) => void)(data);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  });

  test("ws fan-out: subscribers take the snapshot, then time each bid frame", () => {
    const { data, failed } = run("ws-fanout", "placeBid");
    expect(failed).toEqual([]);
    sockets.length = 0;
    ((scripts["ws-fanout"] as Script).subscribe as (d: unknown) => void)(data);
    const ws = sockets[0];
    expect(ws?.url).toBe(`ws://shop.test/ws/items/${(data as { itemId: string }).itemId}`);
    ws?.onmessage({ data: JSON.stringify({ type: "snapshot" }) });
    ws?.onmessage({
      data: JSON.stringify({ type: "bid", timestamp: new Date(Date.now() - 5).toISOString() }),
    });
    expect(metrics.get("ws_snapshots")?.values).toEqual([1]);
    expect(metrics.get("ws_delivery_ms")?.values[0]).toBeGreaterThanOrEqual(5);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  });

  test("soak: every workload's iteration succeeds", () => {
    const script = scripts.soak as Script;
    const data = (script.setup as () => unknown)();
    checks.length = 0;
    for (const exec of Object.values(script.options.scenarios).map((sc) => sc.exec ?? "default")) {
      (script[exec] as (d: unknown) => void)(data);
    }
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  });

  test("a broken contract fails the scenario's checks", () => {
    route = (method, path) =>
      method === "POST" && path === "/orders/async" ? [200, { order_id: "x" }] : [404, {}];
    expect(run("orders", "asyncOrders").failed).toContain("async order accepted");
  });
});

describe("k6/run-suite.sh", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(`${tmpdir()}/k6-suite-`);
    // A fake k6: records its arguments and the server's health, fails when FAIL_SCRIPT is the script.
    writeFileSync(
      `${dir}/k6`,
      `#!/bin/sh
script=""; for a in "$@"; do script="$a"; done
health=$(curl -fsS -o /dev/null -w '%{http_code}' "$BASE_URL/health" 2>/dev/null || echo down)
echo "$* health=$health" >>"${dir}/calls"
[ "$script" != "$FAIL_SCRIPT" ]
`,
    );
    chmodSync(`${dir}/k6`, 0o755);
  });

  const suite = (args: string[], env: Record<string, string> = {}) =>
    Bun.spawnSync(["bash", `${ROOT}k6/run-suite.sh`, ...args], {
      env: {
        PATH: process.env.PATH ?? "",
        K6: `${dir}/k6`,
        SHOP_CMD: `${process.execPath} ${MAIN}`,
        SHOP_PORT: String(freePort()),
        K6_RESULTS_DIR: `${dir}/results`,
        ...env,
      },
      stdout: "pipe",
      stderr: "pipe",
    });

  test("starts a fresh shop per run, with each strategy for bidding, and stops it", () => {
    const res = suite(["products", "bidding"], { FAIL_SCRIPT: "none", SHOP_LOG_LEVEL: "info" });
    expect({ code: res.exitCode, err: res.stderr.toString().slice(-500) }).toEqual({ code: 0, err: "" });
    const calls = readFileSync(`${dir}/calls`, "utf8").trim().split("\n");
    expect(calls.map((c) => c.replace(/^run --quiet /, ""))).toEqual([
      "-e VUS=50 k6/products.js health=200",
      "-e VUS=100 k6/products.js health=200",
      "-e VUS=1000 k6/products.js health=200",
      "-e BID_STRATEGY=lua k6/bidding.js health=200",
      "-e BID_STRATEGY=optimistic k6/bidding.js health=200",
    ]);
    const stops = readFileSync(`${dir}/results/shop.log`, "utf8").match(/"msg":"stopped","exit_code":0/g);
    expect(stops?.length).toBe(5);
  });

  test("a scenario over its thresholds fails the suite, named, after the others ran", () => {
    writeFileSync(`${dir}/calls`, "");
    const res = suite(["orders", "ws-fanout"], { FAIL_SCRIPT: "k6/orders.js" });
    expect(res.exitCode).toBe(1);
    expect(res.stderr.toString()).toContain("k6 suite: failed: orders");
    expect(readFileSync(`${dir}/calls`, "utf8")).toContain("k6/ws-fanout.js health=200");
  });

  test("an unknown scenario is a usage error", () => {
    const res = suite(["nope"]);
    expect(res.exitCode).toBe(2);
    expect(readdirSync(dir)).toContain("k6");
  });
});
