/**
 * Checkout capacity: customers arrive open-loop at CAPACITY_LEVELS (50, 80) % of the api role's checkout
 * capacity (CAPACITY_RPS checkouts/s, else terraform/capacity.json), each creating a cart, adding one
 * unit of one of PRODUCTS products stocked so they never sell out, and checking out; SLO checkout
 * p99 ≤ 20 ms. Selling out under contention is flash-sale.js's subject.
 */
import { check } from "k6";
import { envInt } from "./lib/env.js";
import {
  capacityFigures,
  capacityRps,
  capacityScenarios,
  capacityThresholds,
  chain,
  everyScenarioRan,
  SLO_P99_MS,
} from "./lib/plan.js";
import { body, buyOne, stockedProducts } from "./lib/shop.js";
import { summarize, TREND_STATS } from "./lib/summary.js";

const PRODUCTS = envInt("PRODUCTS", 10);
const CHECKOUT = "POST /shopping-carts/{id}/checkout";
/** Within the stock API's int32 bound and beyond any run's demand. */
const STOCK = 2_000_000_000;

const capacity = capacityScenarios("checkout", "buy", capacityRps("api"));

/** @type {import("k6/options").Options} */
export const options = {
  scenarios: chain(capacity),
  summaryTrendStats: TREND_STATS,
  thresholds: {
    http_req_failed: ["rate<0.001"],
    checks: ["rate>0.999"],
    ...everyScenarioRan(capacity),
    ...capacityThresholds(capacity, SLO_P99_MS.checkout, CHECKOUT),
  },
};

export function setup() {
  return { productIds: stockedProducts(PRODUCTS, STOCK) };
}

/** @param {{ productIds: number[] }} data */
export function buy(data) {
  const res = buyOne(data.productIds);
  if (!res) return;
  check(res, { "checked out": (r) => r.status === 200 && Number.isInteger(body(r).order_id) });
}

/** @param {import("./lib/summary.js").SummaryData} data */
export function handleSummary(data) {
  return summarize("checkout", data, capacityFigures(data, capacity, CHECKOUT));
}
