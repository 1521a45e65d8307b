/**
 * The k6 suite without k6 (it is not installable on the development machines): the scripts type-check
 * against @types/k6; loaded with stand-ins for k6's modules, their options, thresholds and summaries are
 * consistent, and every script's plan passes one check (scenarios that run their whole configured time
 * without overlapping a measurement, latency thresholds only on open-loop scenarios, a threshold that
 * fails a scenario that did nothing, a summary file under the results directory), under several
 * environments; one iteration of every scenario runs against an in-process stand-in that follows the
 * contracts. k6/run-suite.sh is run with a fake `k6` against the real shop.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { DATABASE_URL, dropRedisPrefix, dropSchema, REDIS_URL, runId } from "../helpers/auctions.ts";
import { freePort, MAIN, ROOT } from "../helpers/shop.ts";

const SCENARIOS = ["products", "checkout", "flash-sale", "orders", "bidding", "ws-fanout", "soak"];

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
const slept: number[] = [];
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
  constructor(
    readonly url: string,
    _protocols?: unknown,
    readonly params?: { headers?: Record<string, string> },
  ) {
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
        sleep: (seconds: number) => {
          slept.push(seconds);
        },
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
    build.module("k6/execution", () => ({ loader: "object", exports: { default: execution } }));
    build.module("k6/websockets", () => ({ loader: "object", exports: { WebSocket: FakeSocket } }));
  },
});

/** k6/execution's `scenario`, set by the tests that need it. */
const execution = { scenario: { name: "", iterationInTest: 0, startTime: Date.now() } };

const g = globalThis as unknown as Record<string, unknown>;
const BASE_ENV = {
  BASE_URL: "http://shop.test",
  RUN_ID: "test",
  K6_RESULTS_DIR: "out",
  ADMIN_TOKEN: "admin",
  API_KEY: "k6-key",
};
g.__ENV = { ...BASE_ENV };
g.__VU = 1;
g.__ITER = 0;
/** k6's init-context open(): a path or file: URL; `openFails` stands for scripts copied without the file. */
let openFails = false;
g.open = (path: string) => {
  if (openFails) throw new Error(`open ${path}: no such file or directory`);
  return readFileSync(path.startsWith("file:") ? fileURLToPath(path) : path, "utf8");
};

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
    // The deployment requires credentials: every request of every scenario carries the configured key,
    // or ADMIN_TOKEN as a bearer where it sets stock (shop reads X-API-Key first, so never both).
    const key = headers["X-API-Key"];
    const admin = headers.Authorization === "Bearer admin";
    if (!(key === "k6-key" ? !admin : admin)) return [401, { error: "UNAUTHORIZED" }];
    for (const [verb, pattern, handler] of routes) {
      const m = verb === method ? path.match(pattern) : null;
      if (m) return handler(m, (body ?? {}) as Record<string, unknown>, headers);
    }
    return [404, { error: "NOT_FOUND", message: `${method} ${path}` }];
  };
}

interface ScenarioOptions {
  executor: string;
  exec?: string;
  startTime?: string;
  gracefulStop?: string;
  rate?: number;
  preAllocatedVUs?: number;
  maxVUs?: number;
  duration?: string;
  iterations?: number;
  vus?: number;
}
type Script = Record<string, unknown> & {
  options: { scenarios: Record<string, ScenarioOptions>; thresholds: Record<string, string[]> };
  handleSummary(data: unknown): Record<string, string>;
};
interface Plan {
  runMs(sc: ScenarioOptions): number;
  endMs(sc: ScenarioOptions): number;
  parseDuration(text: string): number;
  ARRIVAL_RATE: string[];
}

const BUILT_IN = new Set([
  "http_reqs",
  "http_req_duration",
  "http_req_failed",
  "checks",
  "iterations",
  "dropped_iterations",
]);

const scripts: Record<string, Script> = {};
let plan: Plan;
let fresh = 0;
/**
 * A fresh evaluation of a script under `env` (k6 reads its environment when the script loads; the
 * shared lib modules keep the first evaluation's constants, which these settings do not touch).
 */
async function load(name: string, env: Record<string, string> = {}): Promise<Script> {
  g.__ENV = { ...BASE_ENV, ...env };
  try {
    return (await import(`${ROOT}k6/${name}.js?env=${++fresh}`)) as Script;
  } finally {
    g.__ENV = { ...BASE_ENV };
  }
}
beforeAll(async () => {
  for (const s of SCENARIOS) scripts[s] = (await import(`${ROOT}k6/${s}.js`)) as Script;
  plan = { ...(await import(`${ROOT}k6/lib/plan.js`)), ...(await import(`${ROOT}k6/lib/env.js`)) } as Plan;
});

/** Scenarios each script runs at the same time on purpose; all others must not overlap. */
const CONCURRENT: Record<string, string[][]> = {
  "ws-fanout": [["subscribers", "bidder"]],
  soak: [["browse", "shop", "orders", "bids", "probes", "watchers"]],
};

/**
 * Everything that makes a k6 run end early, measure the wrong thing or leave no result, as a list of
 * problems (empty when the plan is sound). `expectRunMs` gives scenarios whose run time the environment
 * fixed.
 */
function planProblems(name: string, script: Script, expectRunMs: Record<string, number> = {}): string[] {
  const problems: string[] = [];
  const { scenarios, thresholds } = script.options;
  const entries = Object.entries(scenarios);
  if (entries.length === 0) problems.push("no scenarios");
  const together = (a: string, b: string) =>
    (CONCURRENT[name] ?? []).some((set) => set.includes(a) && set.includes(b));
  const window = (sc: ScenarioOptions) => {
    const start = plan.parseDuration(sc.startTime ?? "0s");
    return { start, end: plan.endMs(sc), runEnd: start + plan.runMs(sc) };
  };
  for (const [key, sc] of entries) {
    if (typeof script[sc.exec ?? "default"] !== "function")
      problems.push(`${key}: exec ${sc.exec} is not exported`);
    const w = window(sc);
    if (!(w.runEnd > w.start)) problems.push(`${key}: runs for no time`);
    if (expectRunMs[key] !== undefined && plan.runMs(sc) !== expectRunMs[key]) {
      problems.push(`${key}: runs ${plan.runMs(sc)} ms, configured ${expectRunMs[key]} ms`);
    }
    if (plan.ARRIVAL_RATE.includes(sc.executor)) {
      if (
        !(
          (sc.rate ?? 0) > 0 &&
          (sc.preAllocatedVUs ?? 0) > 0 &&
          (sc.maxVUs ?? 0) >= (sc.preAllocatedVUs ?? 0)
        )
      ) {
        problems.push(`${key}: arrival rate without a rate or VUs to run it`);
      }
    }
    // A scenario that did nothing must fail the run rather than pass with no samples.
    const guarded = Object.entries(thresholds).some(
      ([k, v]) =>
        (k.includes(`scenario:${key}}`) || k.includes(`scenario:${key},`)) &&
        v.some((t) => /^count>/.test(t)),
    );
    if (!guarded) problems.push(`${key}: no threshold fails it when it runs nothing`);
    for (const [other, osc] of entries) {
      if (other <= key || together(key, other)) continue;
      const a = window(sc);
      const b = window(osc);
      if (a.start < b.end && b.start < a.end) problems.push(`${key} and ${other} overlap`);
    }
  }
  const total = Math.max(...entries.map(([, sc]) => plan.endMs(sc)));
  for (const set of CONCURRENT[name] ?? []) {
    // Scenarios meant to run together must also end together, or the rates of the others are diluted.
    // (Iteration-based executors end when their iterations do; their maxDuration is only a bound.)
    if (name !== "soak") continue;
    const ends = set
      .map((k) => scenarios[k])
      .filter(
        (sc) => sc !== undefined && !sc.executor.startsWith("per-vu") && !sc.executor.startsWith("shared"),
      )
      .map((sc) => window(sc as ScenarioOptions).runEnd);
    if (Math.max(...ends) - Math.min(...ends) > 0) problems.push(`soak scenarios end apart: ${ends}`);
  }
  for (const [key, list] of Object.entries(thresholds)) {
    const base = key.split("{")[0] ?? "";
    const tags = Object.fromEntries(
      (key.match(/\{(.*)\}$/)?.[1] ?? "")
        .split(/,(?=\w+:)/)
        .filter(Boolean)
        .map((t) => [t.slice(0, t.indexOf(":")), t.slice(t.indexOf(":") + 1)]),
    );
    if (tags.scenario !== undefined && scenarios[tags.scenario] === undefined)
      problems.push(`${key}: no scenario ${tags.scenario}`);
    const latency = base === "http_req_duration" && list.some((t) => /^(p\(|avg|med|max)/.test(t));
    if (latency) {
      const sc = tags.scenario === undefined ? undefined : scenarios[tags.scenario];
      if (!sc || !plan.ARRIVAL_RATE.includes(sc.executor))
        problems.push(`${key}: latency threshold on a closed-loop load`);
    }
  }
  for (const [key, sc] of entries) {
    if (!plan.ARRIVAL_RATE.includes(sc.executor) || name === "soak" || name === "ws-fanout") continue;
    const own = Object.keys(thresholds).filter((k) => k.includes(`scenario:${key}`));
    if (!own.some((k) => k.startsWith("http_req_duration{")))
      problems.push(`${key}: open loop without an SLO`);
    if (!own.some((k) => k.startsWith("dropped_iterations{")))
      problems.push(`${key}: dropped arrivals not bounded`);
  }
  const out = script.handleSummary({ metrics: {}, state: { testRunDurationMs: total } });
  const files = Object.keys(out).filter((k) => k !== "stdout");
  if (!files.some((f) => f.startsWith("out/") && f.endsWith(".json") && (out[f] ?? "").length > 0)) {
    problems.push("handleSummary writes no JSON under the results directory");
  }
  if (!files.every((f) => f.startsWith("out/")))
    problems.push(`handleSummary writes outside the results directory: ${files}`);
  return problems;
}

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

describe("every script's plan", () => {
  const capacityFile = JSON.parse(readFileSync(`${ROOT}terraform/capacity.json`, "utf8")) as {
    roles: Record<string, { requestsPerSecondPerVcpu?: number }>;
  };

  for (const s of SCENARIOS) {
    test(`${s}: runs whole, measures open loop only against SLOs, and files a summary`, () => {
      expect(planProblems(s, scripts[s] as Script)).toEqual([]);
    });
  }

  test("the check catches a script that writes nothing, ends early, overlaps or holds closed loop to a latency", () => {
    const broken: Script = {
      run: () => {},
      options: {
        scenarios: {
          first: { executor: "constant-vus", exec: "run", vus: 1, duration: "60s", gracefulStop: "5s" },
          // Starts before `first` has finished: its measurement shares the server with first's tail.
          second: {
            executor: "constant-arrival-rate",
            exec: "run",
            rate: 10,
            preAllocatedVUs: 1,
            maxVUs: 1,
            duration: "30s",
            startTime: "62s",
          },
        },
        thresholds: {
          "http_req_duration{scenario:first}": ["p(99)<5"],
          "iterations{scenario:second}": ["count>0"],
          "http_req_duration{scenario:third}": ["p(99)<5"],
        },
      },
      handleSummary: () => ({ stdout: "nothing written" }),
    };
    expect(planProblems("broken", broken, { second: 60_000 })).toEqual([
      "first: no threshold fails it when it runs nothing",
      "first and second overlap",
      "second: runs 30000 ms, configured 60000 ms",
      "http_req_duration{scenario:first}: latency threshold on a closed-loop load",
      "http_req_duration{scenario:third}: no scenario third",
      "http_req_duration{scenario:third}: latency threshold on a closed-loop load",
      "second: open loop without an SLO",
      "second: dropped arrivals not bounded",
      "handleSummary writes no JSON under the results directory",
    ]);
  });

  test("open-loop levels default to terraform/capacity.json's figure per role, CAPACITY_RPS overrides", async () => {
    const api = capacityFile.roles.api?.requestsPerSecondPerVcpu ?? 0;
    const bidder = capacityFile.roles.bidder?.requestsPerSecondPerVcpu ?? 0;
    const rates = (sc: Script) =>
      Object.fromEntries(
        Object.entries(sc.options.scenarios)
          .filter(([, v]) => v.rate)
          .map(([k, v]) => [k, v.rate]),
      );
    expect(rates(scripts.products as Script)).toEqual({
      product_get_50: Math.round(api * 0.5),
      product_get_80: Math.round(api * 0.8),
    });
    expect(rates(scripts.bidding as Script)).toEqual({
      bid_50: Math.round(bidder * 0.5),
      bid_80: Math.round(bidder * 0.8),
    });
    const set = await load("checkout", {
      CAPACITY_RPS: "1000",
      CAPACITY_LEVELS: "25,50,80",
      CAPACITY_DURATION: "20s",
    });
    expect(rates(set)).toEqual({ checkout_25: 250, checkout_50: 500, checkout_80: 800 });
    expect(
      planProblems("checkout", set, { checkout_25: 20_000, checkout_50: 20_000, checkout_80: 20_000 }),
    ).toEqual([]);
    // At 80 %: 800/s for 20 s, at most 1 % of the 16,000 arrivals dropped, p99 within the SLO.
    expect(set.options.thresholds["dropped_iterations{scenario:checkout_80}"]).toEqual(["count<=160"]);
    expect(
      set.options.thresholds[
        "http_req_duration{scenario:checkout_80,name:POST /shopping-carts/{id}/checkout}"
      ],
    ).toEqual(["p(99)<=20"]);
    expect((await load("orders")).options.thresholds["http_req_duration{scenario:accept_80}"]).toEqual([
      "p(99)<=10",
    ]);
    expect(
      (scripts.products as Script).options.thresholds["http_req_duration{scenario:product_get_80}"],
    ).toEqual(["p(99)<=5"]);
    expect((scripts.bidding as Script).options.thresholds["http_req_duration{scenario:bid_80}"]).toEqual([
      "p(99)<=20",
    ]);
  });

  test("without CAPACITY_RPS or terraform/capacity.json an open-loop script refuses to start", async () => {
    openFails = true;
    try {
      await expect(load("products", { PARTS: "capacity" })).rejects.toThrow(/CAPACITY_RPS is not set/);
      // The seed part alone needs no capacity.
      expect(Object.keys((await load("products", { PARTS: "seed" })).options.scenarios)).toEqual(["seed"]);
    } finally {
      openFails = false;
    }
    await expect(load("orders", { CAPACITY_RPS: "12x" })).rejects.toThrow(/CAPACITY_RPS must be/);
    await expect(load("products", { CAPACITY_LEVELS: "50,120" })).rejects.toThrow(/CAPACITY_LEVELS/);
    await expect(load("bidding", { BID_STRATEGY: "lau" })).rejects.toThrow(/BID_STRATEGY must be one of/);
    await expect(load("products", { PARTS: "seed,capcity" })).rejects.toThrow(/PARTS must be/);
  });

  test("products: the seed's users with think time, then the open-loop levels, one after another", async () => {
    const script = await load("products", { VUS: "1000", DURATION: "2m", CAPACITY_DURATION: "30s" });
    const sc = script.options.scenarios;
    expect(Object.keys(sc)).toEqual(["seed", "product_get_50", "product_get_80"]);
    expect(
      planProblems("products", script, { seed: 130_000, product_get_50: 30_000, product_get_80: 30_000 }),
    ).toEqual([]);
    expect(sc.seed?.executor).toBe("ramping-vus");
    // Think time: 1–3 s after each task, so 1000 users offer about 500 req/s, the seed's 492.
    route = contractRoutes();
    slept.length = 0;
    for (let i = 0; i < 200; i++) (script.seedUser as () => void)();
    expect(slept.length).toBe(200);
    expect(slept.every((t) => t >= 1 && t <= 3)).toBe(true);
    const stem = Object.keys(script.handleSummary({ metrics: {} })).find((k) => k.endsWith(".json"));
    expect(stem).toBe("out/products-1000.json");
    const capacityOnly = await load("products", { PARTS: "capacity" });
    expect(Object.keys(capacityOnly.handleSummary({ metrics: {} }))).toContain("out/products-capacity.json");
  });

  test("orders: the gap after sync and the expectations follow DURATION_S, VUS and PAYMENT_MS", async () => {
    const script = await load("orders", {
      DURATION_S: "30",
      VUS: "10",
      PAYMENT_MS: "1000",
      CAPACITY_DURATION: "10s",
    });
    const sc = script.options.scenarios;
    expect(
      planProblems("orders", script, { sync: 30_000, async: 30_000, accept_50: 10_000, accept_80: 10_000 }),
    ).toEqual([]);
    // Ten clients behind one 1 s payment slot wait at most 10 s; 5 s margin.
    expect(sc.sync?.gracefulStop).toBe("15s");
    expect(plan.parseDuration(sc.async?.startTime ?? "")).toBe(45_000);
    expect(script.options.thresholds.orders_sync_completed).toEqual(["count>9"]);
    expect(script.options.thresholds.orders_async_accepted).toEqual(["count>1750"]);
    const asyncOnly = await load("orders", { MODES: "async", DURATION_S: "120" });
    expect(Object.keys(asyncOnly.options.scenarios)).toEqual(["async"]);
    expect(plan.parseDuration(asyncOnly.options.scenarios.async?.startTime ?? "")).toBe(0);
    expect(asyncOnly.options.thresholds.orders_async_accepted).toEqual(["count>7000"]);
  });

  test("soak: watchers reconnect on cycles that tile SOAK_DURATION, ending with it", async () => {
    for (const [duration, cycles] of [
      ["90s", 2],
      ["10m", 10],
      ["25s", 1],
      ["1h1m30s", 62],
    ] as const) {
      const script = await load("soak", { SOAK_DURATION: duration });
      const total = plan.parseDuration(duration);
      const fixed = Object.fromEntries(
        Object.entries(script.options.scenarios)
          .filter(([, sc]) => sc.executor === "constant-arrival-rate")
          .map(([k]) => [k, total]),
      );
      expect(planProblems("soak", script, fixed)).toEqual([]);
      const watchers = script.options.scenarios.watchers;
      expect(watchers?.iterations).toBe(cycles);
      // One watcher's life: each connect takes 7 ms; each hold runs to its cycle's end.
      const hold = script.watchHoldMs as (elapsed: number) => number;
      let elapsed = 0;
      const closes: number[] = [];
      for (let i = 0; i < cycles; i++) {
        elapsed += 7;
        const h = hold(elapsed);
        expect(h).toBeGreaterThan(0);
        elapsed += h;
        closes.push(elapsed);
      }
      expect(closes.at(-1)).toBe(total);
      expect(closes.map((c) => Math.round(c))).toEqual(
        closes.map((_, i) => Math.round(((i + 1) * total) / cycles)),
      );
      expect(hold(total)).toBe(0);
      expect(script.options.thresholds["iterations{scenario:watchers}"]).toEqual([`count>=${50 * cycles}`]);
    }
    await expect(load("soak", { SOAK_DURATION: "10 minutes" })).rejects.toThrow(/SOAK_DURATION must be/);
  });

  test("k6 durations parse as k6 reads them", () => {
    expect(["90s", "1m30s", "2h", "500ms", "1.5s", "45"].map(plan.parseDuration)).toEqual([
      90_000, 90_000, 7_200_000, 500, 1500, 45_000,
    ]);
    expect(() => plan.parseDuration("1 m")).toThrow();
    expect(() => plan.parseDuration("")).toThrow();
  });
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

  test("products: the seed users' reads, writes and health, and the open-loop reads all succeed", () => {
    expect(run("products", "seedUser").failed).toEqual([]);
    expect(run("products", "readProduct").failed).toEqual([]);
  });

  test("checkout: each arrival buys one unit and checks out", () => {
    expect(run("checkout", "buy").failed).toEqual([]);
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

  test("orders: sync completes and async is accepted, seed-like and open-loop", () => {
    expect(run("orders", "syncOrders").failed).toEqual([]);
    expect(run("orders", "asyncOrders").failed).toEqual([]);
    expect(run("orders", "acceptOpenLoop").failed).toEqual([]);
  });

  test("bidding: seed bidders read and outbid, open-loop arrivals bid rising amounts; the teardown sees every item's price", () => {
    const before = metrics.get("bids_accepted")?.values.length ?? 0;
    const { data, failed } = run("bidding", "contend");
    expect(failed).toEqual([]);
    expect((metrics.get("bids_accepted")?.values.length ?? 0) - before).toBe(3);
    const script = scripts.bidding as Script;
    for (const name of ["bid_50", "bid_80"]) {
      for (let i = 0; i < 3; i++) {
        execution.scenario = { ...execution.scenario, name, iterationInTest: i };
        (script.bidOpenLoop as (d: unknown) => void)(data);
      }
    }
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect((metrics.get("bids_accepted")?.values.length ?? 0) - before).toBe(9);
    (script.teardown as (d: unknown) => void)(data);
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
    sockets.length = 0;
    for (const exec of Object.values(script.options.scenarios).map((sc) => sc.exec ?? "default")) {
      (script[exec] as (d: unknown) => void)(data);
    }
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(sockets.map((ws) => ws.params?.headers?.["X-API-Key"])).toEqual(["k6-key"]);
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
    // A fake k6: records its arguments, the server's health and the dashboard settings; files a summary
    // where the dashboard export says (unless NO_SUMMARY_SCRIPT is the script, like a k6 that could not
    // write it); fails when FAIL_SCRIPT is the script.
    writeFileSync(
      `${dir}/k6`,
      `#!/bin/sh
script=""; for a in "$@"; do script="$a"; done
health=$(curl -fsS -o /dev/null -w '%{http_code}' "$BASE_URL/health" 2>/dev/null || echo down)
echo "$* health=$health period=$K6_WEB_DASHBOARD_PERIOD export=$K6_WEB_DASHBOARD_EXPORT" >>"${dir}/calls"
[ "$script" = "$NO_SUMMARY_SCRIPT" ] || echo '{}' >"\${K6_WEB_DASHBOARD_EXPORT%.html}.json"
[ "$script" != "$FAIL_SCRIPT" ]
`,
    );
    chmodSync(`${dir}/k6`, 0o755);
  });

  const suite = (args: string[], env: Record<string, string> = {}) => {
    writeFileSync(`${dir}/calls`, "");
    return Bun.spawnSync(["bash", `${ROOT}k6/run-suite.sh`, ...args], {
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
  };
  const calls = () => readFileSync(`${dir}/calls`, "utf8").trim().split("\n");

  test("starts a fresh shop per run, with each strategy for bidding on Redis, and stops it; each run files the summary its script writes", async () => {
    const id = runId("k6_suite");
    const env = { REDIS_URL, REDIS_KEY_PREFIX: `${id}:`, DATABASE_URL, DATABASE_SCHEMA: id };
    const res = suite(["products", "bidding"], { FAIL_SCRIPT: "none", SHOP_LOG_LEVEL: "info", ...env });
    await Promise.all([dropRedisPrefix(`${id}:`), dropSchema(id)]);
    expect({ code: res.exitCode, err: res.stderr.toString().slice(-500) }).toEqual({ code: 0, err: "" });
    const runs = calls();
    expect(runs.map((c) => c.replace(/^run --quiet /, "").replace(/ export=.*$/, ""))).toEqual([
      "-e PARTS=seed -e VUS=50 k6/products.js health=200 period=200ms",
      "-e PARTS=seed -e VUS=100 k6/products.js health=200 period=200ms",
      "-e PARTS=seed -e VUS=1000 k6/products.js health=200 period=200ms",
      "-e PARTS=capacity k6/products.js health=200 period=200ms",
      "-e BID_STRATEGY=lua k6/bidding.js health=200 period=200ms",
      "-e BID_STRATEGY=optimistic k6/bidding.js health=200 period=200ms",
    ]);
    const stops = readFileSync(`${dir}/results/shop.log`, "utf8").match(/"msg":"stopped","exit_code":0/g);
    expect(stops?.length).toBe(6);
    // The stem the suite checks for is the one the script, given the same settings, writes.
    for (const line of runs) {
      const env = Object.fromEntries([...line.matchAll(/-e (\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
      const script = line.match(/k6\/([\w-]+)\.js/)?.[1] ?? "";
      const stem = line.match(/export=.*\/([\w-]+)\.html$/)?.[1];
      const written = Object.keys((await load(script, env)).handleSummary({ metrics: {} }));
      expect(written).toContain(`out/${stem}.json`);
    }
  });

  test("without REDIS_URL, bidding runs once on the in-memory book, filed as bidding-memory, and says why", () => {
    const res = suite(["bidding"]);
    expect(res.exitCode).toBe(0);
    expect(res.stderr.toString()).toContain("REDIS_URL is not set, so the server would ignore BID_STRATEGY");
    expect(calls().map((c) => c.replace(/^run --quiet /, "").replace(/ health=.*$/, ""))).toEqual([
      "-e BID_STRATEGY=memory k6/bidding.js",
    ]);
  });

  test("a scenario over its thresholds fails the suite, named, after the others ran", () => {
    const res = suite(["orders", "ws-fanout"], { FAIL_SCRIPT: "k6/orders.js" });
    expect(res.exitCode).toBe(1);
    expect(res.stderr.toString()).toContain("k6 suite: failed: orders");
    expect(calls().join("\n")).toContain("k6/ws-fanout.js health=200");
  });

  test("a run that leaves no summary fails the suite, named, even when k6 exits 0; the soak's dashboard is coarser", () => {
    writeFileSync(`${dir}/results/checkout.json`, "{} from an earlier run");
    const res = suite(["checkout", "soak"], { NO_SUMMARY_SCRIPT: "k6/checkout.js" });
    expect(res.exitCode).toBe(1);
    expect(res.stderr.toString()).toContain(
      `k6 checkout: no summary written to ${dir}/results/checkout.json`,
    );
    expect(res.stderr.toString()).toContain("k6 suite: failed: checkout (no summary)");
    expect(calls().map((c) => c.match(/(\S+\.js) .*period=(\S+)/)?.slice(1))).toEqual([
      ["k6/checkout.js", "200ms"],
      ["k6/soak.js", "10s"],
    ]);
  });

  test("an unknown scenario is a usage error", () => {
    const res = suite(["nope"]);
    expect(res.exitCode).toBe(2);
    expect(res.stderr.toString()).toContain(
      "scenarios: products checkout flash-sale orders bidding ws-fanout soak",
    );
    expect(readdirSync(dir)).toContain("k6");
  });
});
