/**
 * Product API at a fixed number of VUs, GET:POST:health weighted 5:1:3 as in the product API seed's
 * Locust runs (50, 100 and 1000 users). Run it once per level: `k6 run -e VUS=1000 k6/products.js`.
 */
import { check } from "k6";
import http from "k6/http";
import { BASE_URL, env, envInt } from "./lib/env.js";
import { getProduct, headers, health, product, putProduct } from "./lib/shop.js";
import { summarize, TREND_STATS } from "./lib/summary.js";

const VUS = envInt("VUS", 50);
const CATALOGUE = envInt("CATALOGUE", 1000);

/** The seed's HttpUser figures (one Fargate task, 0.25 vCPU) at each user count. */
const SEED = /** @type {Record<number, { rps: number, p95: number, p99?: number }>} */ ({
  50: { rps: 24.9, p95: 43 },
  100: { rps: 49.5, p95: 40 },
  1000: { rps: 492.4, p95: 46, p99: 100 },
});
const seed = SEED[VUS];
const GET_P99_MS = seed?.p99 ?? 100;

/** @type {import("k6/options").Options} */
export const options = {
  scenarios: {
    products: { executor: "constant-vus", vus: VUS, duration: env("DURATION", "60s"), gracefulStop: "5s" },
  },
  summaryTrendStats: TREND_STATS,
  thresholds: {
    http_req_failed: ["rate<0.001"],
    checks: ["rate>0.999"],
    "http_req_duration{name:GET /products/{id}}": [`p(99)<${GET_P99_MS}`, `p(95)<${seed?.p95 ?? 46}`],
    "http_req_duration{name:POST /products/{id}/details}": [`p(99)<${GET_P99_MS}`],
    "http_req_duration{name:GET /health}": [`p(99)<${GET_P99_MS}`],
  },
};

export function setup() {
  const ids = Array.from({ length: CATALOGUE }, (_, i) => i + 1);
  for (let i = 0; i < ids.length; i += 100) {
    const batch = ids.slice(i, i + 100).map((id) => ({
      method: "POST",
      url: `${BASE_URL}/products/${id}/details`,
      body: JSON.stringify(product(id)),
      params: { headers: headers(false), tags: { name: "setup" } },
    }));
    for (const res of http.batch(batch)) {
      if (res.status !== 204) throw new Error(`seeding products: ${res.status} ${String(res.body)}`);
    }
  }
}

export default function () {
  const id = 1 + Math.floor(Math.random() * CATALOGUE);
  const pick = Math.floor(Math.random() * 9);
  if (pick < 5) {
    const res = getProduct(id);
    check(res, { "GET product 200": (r) => r.status === 200 });
  } else if (pick < 6) {
    const res = putProduct(id);
    check(res, { "POST product 204": (r) => r.status === 204 });
  } else {
    check(health(), { "health 200": (r) => r.status === 200 });
  }
}

/** @param {import("./lib/summary.js").SummaryData} data */
export function handleSummary(data) {
  return summarize(`products-${VUS}`, data, [
    { metric: "http_reqs", stat: "rate", better: "higher", seed: seed?.rps },
    { metric: "http_req_duration{name:GET /products/{id}}", stat: "p(95)", better: "lower", seed: seed?.p95 },
    { metric: "http_req_duration{name:GET /products/{id}}", stat: "p(99)", better: "lower", seed: seed?.p99 },
    { metric: "http_req_duration{name:POST /products/{id}/details}", stat: "p(99)", better: "lower" },
  ]);
}
