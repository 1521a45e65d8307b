/**
 * Flash sale: many customers race to check out a few products with limited stock. Every customer
 * creates a cart, adds one unit of a random product and checks out once; 400 means sold out. The
 * thresholds say exactly the stock was sold: no oversell (count ≤ stock) and nothing lost (count ≥ stock,
 * as demand far exceeds supply), and every customer came. No seed had inventory; one lost cart updates
 * under concurrency.
 */
import { check } from "k6";
import { Counter } from "k6/metrics";
import { env, envInt } from "./lib/env.js";
import { everyScenarioRan } from "./lib/plan.js";
import { body, buyOne, stockedProducts } from "./lib/shop.js";
import { summarize, TREND_STATS } from "./lib/summary.js";

const PRODUCTS = envInt("PRODUCTS", 3);
const STOCK = envInt("STOCK", 100);
const CUSTOMERS = envInt("CUSTOMERS", 2000);
const VUS = envInt("VUS", 200);
const TOTAL_STOCK = PRODUCTS * STOCK;

const sold = new Counter("flash_checkouts_ok");
const soldOut = new Counter("flash_checkouts_sold_out");

/** @type {Record<string, import("k6/options").Scenario>} */
const scenarios = {
  sale: {
    executor: "shared-iterations",
    vus: VUS,
    iterations: CUSTOMERS,
    maxDuration: env("MAX_DURATION", "3m"),
  },
};

/** @type {import("k6/options").Options} */
export const options = {
  scenarios,
  summaryTrendStats: TREND_STATS,
  thresholds: {
    flash_checkouts_ok: [`count<=${TOTAL_STOCK}`, `count>=${TOTAL_STOCK}`],
    // Every customer came: a sale cut short by MAX_DURATION fails instead of reporting a partial race.
    iterations: [`count>=${CUSTOMERS}`],
    ...everyScenarioRan(scenarios),
    http_req_failed: ["rate<0.001"],
    checks: ["rate>0.999"],
    // Not thresholds: a race of VUS closed-loop customers measures their queue, not an SLO (checkout.js
    // has the open-loop one). Named so k6 reports the sub-metric for the figures.
    "http_req_duration{name:POST /shopping-carts/{id}/checkout}": [],
  },
};

export function setup() {
  if (CUSTOMERS <= TOTAL_STOCK)
    throw new Error(`CUSTOMERS (${CUSTOMERS}) must exceed the stock (${TOTAL_STOCK})`);
  return { productIds: stockedProducts(PRODUCTS, STOCK) };
}

/** @param {{ productIds: number[] }} data */
export default function (data) {
  const res = buyOne(data.productIds);
  if (!res) return;
  const ok = check(res, {
    "checkout is an order or sold out": (r) =>
      (r.status === 200 && Number.isInteger(body(r).order_id)) ||
      (r.status === 400 && body(r).error !== undefined),
  });
  if (ok && res.status === 200) sold.add(1);
  else if (ok) soldOut.add(1);
}

/** @param {import("./lib/summary.js").SummaryData} data */
export function handleSummary(data) {
  return summarize("flash-sale", data, [
    { metric: "http_req_duration{name:POST /shopping-carts/{id}/checkout}", stat: "p(99)", better: "lower" },
    { metric: "iterations", stat: "rate", better: "higher" },
  ]);
}
