/**
 * Product API, in two parts (`-e PARTS=seed,capacity`, both by default):
 * - seed: the product seed's Locust model, for comparing req/s with its figures. VUS users (the seed ran
 *   50, 100 and 1000) spawned over 10 s as Locust's spawn rate did (users ÷ 10 per second), each doing
 *   GET product : POST product : health weighted 5 : 1 : 3 (the seed's per-endpoint rates at 1000 users,
 *   273 : 56 : 163 req/s) and waiting 1–3 s between tasks (its `between(1, 3)`, which is what makes
 *   50 users give 25 req/s). Closed-loop, so no latency thresholds: its latency is reported.
 * - capacity: GET /products/{id} open-loop at CAPACITY_LEVELS (50, 80) % of the api role's capacity
 *   (CAPACITY_RPS, else terraform/capacity.json) for CAPACITY_DURATION each; SLO p99 ≤ 5 ms.
 */
import { check, sleep } from "k6";
import http from "k6/http";
import { BASE_URL, envDurationMs, envInt } from "./lib/env.js";
import {
  capacityFigures,
  capacityRps,
  capacityScenarios,
  capacityThresholds,
  chain,
  everyScenarioRan,
  parts,
  runMs,
  SLO_P99_MS,
} from "./lib/plan.js";
import { getProduct, health, JSON_HEADERS, product, putProduct } from "./lib/shop.js";
import { summarize, TREND_STATS } from "./lib/summary.js";

const PARTS = parts(["seed", "capacity"]);
const VUS = envInt("VUS", 50);
const CATALOGUE = envInt("CATALOGUE", 1000);

/** The seed's HttpUser figures (one Fargate task, 0.25 vCPU) at each user count. */
const SEED = /** @type {Record<number, { rps: number, p95: number, p99?: number }>} */ ({
  50: { rps: 24.9, p95: 43 },
  100: { rps: 49.5, p95: 40 },
  1000: { rps: 492.4, p95: 46, p99: 100 },
});
const seed = SEED[VUS];

/** @type {Record<string, import("k6/options").Scenario>} */
const scenarios = {};
if (PARTS.includes("seed")) {
  scenarios.seed = {
    executor: "ramping-vus",
    exec: "seedUser",
    startVUs: 0,
    stages: [
      { duration: "10s", target: VUS },
      { duration: `${envDurationMs("DURATION", "60s")}ms`, target: VUS },
    ],
    // Longer than the longest think time, so no user is cut mid-task.
    gracefulRampDown: "5s",
    gracefulStop: "5s",
  };
}
const capacity = PARTS.includes("capacity")
  ? capacityScenarios("product_get", "readProduct", capacityRps("api"))
  : {};
Object.assign(scenarios, capacity);

/** @type {import("k6/options").Options} */
export const options = {
  scenarios: chain(scenarios),
  summaryTrendStats: TREND_STATS,
  thresholds: {
    http_req_failed: ["rate<0.001"],
    checks: ["rate>0.999"],
    ...everyScenarioRan(scenarios),
    ...(PARTS.includes("seed") && {
      // Not thresholds (closed loop): named so k6 reports these sub-metrics for the figures.
      "http_req_duration{scenario:seed,name:GET /products/{id}}": [],
      "http_reqs{scenario:seed}": [],
    }),
    ...capacityThresholds(capacity, SLO_P99_MS.productGet),
  },
};

export function setup() {
  const ids = Array.from({ length: CATALOGUE }, (_, i) => i + 1);
  for (let i = 0; i < ids.length; i += 100) {
    const batch = ids.slice(i, i + 100).map((id) => ({
      method: "POST",
      url: `${BASE_URL}/products/${id}/details`,
      body: JSON.stringify(product(id)),
      params: { headers: JSON_HEADERS, tags: { name: "setup" } },
    }));
    for (const res of http.batch(batch)) {
      if (res.status !== 204) throw new Error(`seeding products: ${res.status} ${String(res.body)}`);
    }
  }
}

const randomId = () => 1 + Math.floor(Math.random() * CATALOGUE);

/** One Locust task, then its think time. */
export function seedUser() {
  const pick = Math.floor(Math.random() * 9);
  if (pick < 5) {
    check(getProduct(randomId()), { "GET product 200": (r) => r.status === 200 });
  } else if (pick < 6) {
    check(putProduct(randomId()), { "POST product 204": (r) => r.status === 204 });
  } else {
    check(health(), { "health 200": (r) => r.status === 200 });
  }
  sleep(1 + 2 * Math.random());
}

export function readProduct() {
  check(getProduct(randomId()), { "GET product 200": (r) => r.status === 200 });
}

/** @param {import("./lib/summary.js").SummaryData} data */
export function handleSummary(data) {
  /** @type {import("./lib/summary.js").Figure[]} */
  const figures = [];
  if (scenarios.seed) {
    const seedSeconds = runMs(scenarios.seed) / 1000;
    const count = data.metrics["http_reqs{scenario:seed}"]?.values.count;
    figures.push(
      {
        metric: `seed users: req/s over the ${seedSeconds} s ramp and hold`,
        stat: "rate",
        better: "higher",
        seed: seed?.rps,
        value: count === undefined ? null : count / seedSeconds,
      },
      {
        metric: "http_req_duration{scenario:seed,name:GET /products/{id}}",
        stat: "p(95)",
        better: "lower",
        seed: seed?.p95,
      },
      {
        metric: "http_req_duration{scenario:seed,name:GET /products/{id}}",
        stat: "p(99)",
        better: "lower",
        seed: seed?.p99,
      },
    );
  }
  figures.push(...capacityFigures(data, capacity));
  return summarize(PARTS.includes("seed") ? `products-${VUS}` : "products-capacity", data, figures);
}
