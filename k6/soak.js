/**
 * A day in the shop: every workload at once at a steady, modest rate for SOAK_DURATION (default 10 min),
 * to catch leaks, slow drifts and interference between roles rather than peak throughput. RATE scales
 * every arrival rate (RATE=2 doubles the traffic).
 */
import { check } from "k6";
import exec from "k6/execution";
import { setTimeout } from "k6/timers";
import { WebSocket } from "k6/websockets";
import { envDurationMs, envInt, RUN_ID, WS_URL } from "./lib/env.js";
import { everyScenarioRan, SLO_P99_MS } from "./lib/plan.js";
import {
  addItem,
  bid,
  body,
  checkout,
  createCart,
  createItem,
  getItem,
  getProduct,
  health,
  KEY_HEADERS,
  orderAsync,
  plusCents,
  putProduct,
  setStock,
} from "./lib/shop.js";
import { summarize, TREND_STATS } from "./lib/summary.js";

const DURATION_MS = envDurationMs("SOAK_DURATION", "10m");
const DURATION = `${DURATION_MS}ms`;
const RATE = envInt("RATE", 1);
const WATCHERS = envInt("WATCHERS", 50);
const CATALOGUE = 200;
/**
 * Watchers reconnect about every minute: the soak is cut into whole cycles (the nearest count to one a
 * minute), so the last one ends with the soak rather than being interrupted or running past it.
 */
const WATCH_CYCLES = Math.max(1, Math.round(DURATION_MS / 60_000));
const WATCH_CYCLE_MS = DURATION_MS / WATCH_CYCLES;

/**
 * How long a watcher connecting `elapsedMs` into the soak stays: to the end of its cycle, so late
 * connects never push the reconnects (and the soak's end) later; 0 once the soak is over.
 * @param {number} elapsedMs
 */
export function watchHoldMs(elapsedMs) {
  if (elapsedMs >= DURATION_MS) return 0;
  return Math.min(DURATION_MS, (Math.floor(elapsedMs / WATCH_CYCLE_MS) + 1) * WATCH_CYCLE_MS) - elapsedMs;
}

/**
 * @param {string} exec
 * @param {number} perSecond
 * @returns {import("k6/options").ConstantArrivalRateScenario}
 */
const steady = (exec, perSecond) => ({
  executor: "constant-arrival-rate",
  exec,
  rate: perSecond * RATE,
  timeUnit: "1s",
  duration: DURATION,
  preAllocatedVUs: Math.max(5, perSecond * RATE),
  maxVUs: Math.max(50, 10 * perSecond * RATE),
});

/** @type {Record<string, import("k6/options").Scenario>} */
const scenarios = {
  browse: steady("browse", 50),
  shop: steady("buy", 5),
  orders: steady("order", 5),
  bids: steady("placeBid", 10),
  probes: steady("probe", 1),
  watchers: {
    executor: "per-vu-iterations",
    exec: "watch",
    vus: WATCHERS,
    iterations: WATCH_CYCLES,
    // Each iteration ends on its cycle's boundary; the margin only covers the last close.
    maxDuration: `${DURATION_MS + 10_000}ms`,
    gracefulStop: "5s",
  },
};

/** @type {import("k6/options").Options} */
export const options = {
  scenarios,
  summaryTrendStats: TREND_STATS,
  thresholds: {
    http_req_failed: ["rate<0.001"],
    checks: ["rate>0.999"],
    dropped_iterations: ["count<10"],
    "http_req_duration{scenario:browse,name:GET /products/{id}}": [`p(99)<=${SLO_P99_MS.productGet}`],
    "http_req_duration{scenario:shop,name:POST /shopping-carts/{id}/checkout}": [
      `p(99)<=${SLO_P99_MS.checkout}`,
    ],
    "http_req_duration{scenario:orders,name:POST /orders/async}": [`p(99)<=${SLO_P99_MS.asyncAccept}`],
    "http_req_duration{scenario:bids,name:POST /api/v1/items/{id}/bid}": [`p(99)<=${SLO_P99_MS.bid}`],
    ...everyScenarioRan(scenarios),
    "iterations{scenario:watchers}": [`count>=${WATCHERS * WATCH_CYCLES}`],
  },
};

export function setup() {
  for (let id = 1; id <= CATALOGUE; id++) {
    if (putProduct(id).status !== 204) throw new Error(`cannot seed product ${id}`);
  }
  // Enough stock that the soak never sells out: the flash-sale scenario covers that.
  for (let id = 1; id <= 10; id++) setStock(id, 1_000_000);
  const itemId = `k6-soak-${RUN_ID}`;
  const res = createItem(itemId, 1);
  if (res.status !== 201) throw new Error(`cannot create item ${itemId}: ${res.status} ${String(res.body)}`);
  return { itemId };
}

export function browse() {
  const id = 1 + Math.floor(Math.random() * CATALOGUE);
  if (Math.random() < 0.1) check(putProduct(id), { "product stored": (r) => r.status === 204 });
  else check(getProduct(id), { "product read": (r) => r.status === 200 });
}

export function buy() {
  const cartId = body(createCart(1 + __VU)).shopping_cart_id;
  if (!check(cartId, { "cart created": (id) => Number.isInteger(id) })) return;
  addItem(cartId, 1 + Math.floor(Math.random() * 10), 1 + Math.floor(Math.random() * 3));
  check(checkout(cartId), { "checked out": (r) => r.status === 200 });
}

export function order() {
  check(orderAsync(`k6-soak-${RUN_ID}-${__VU}-${__ITER}`, 1 + __VU), {
    "order accepted": (r) => r.status === 202,
  });
}

/** @param {{ itemId: string }} data */
export function placeBid(data) {
  const current = body(getItem(data.itemId)).current_bid;
  const amount = typeof current === "number" && current >= 1 ? plusCents(current, 1) : 1;
  check(bid(data.itemId, `k6-soak-${__VU}`, amount), {
    "bid answered": (r) => r.status === 201 || r.status === 409,
  });
}

export function probe() {
  check(health(), { healthy: (r) => r.status === 200 });
}

/**
 * Watchers reconnect every cycle, like browser tabs coming and going.
 * @param {{ itemId: string }} data
 */
export function watch(data) {
  const hold = watchHoldMs(Date.now() - exec.scenario.startTime);
  if (hold <= 0) return;
  const ws = new WebSocket(`${WS_URL}/ws/items/${data.itemId}`, null, { headers: KEY_HEADERS });
  ws.onerror = () => {
    check(null, { "watcher connected": () => false });
  };
  setTimeout(() => ws.close(), hold);
}

/** @param {import("./lib/summary.js").SummaryData} data */
export function handleSummary(data) {
  return summarize("soak", data, [
    { metric: "http_req_failed", stat: "rate", better: "lower" },
    ...Object.keys(options.thresholds ?? {})
      .filter((metric) => metric.startsWith("http_req_duration{"))
      .map((metric) => /** @type {const} */ ({ metric, stat: "p(99)", better: "lower" })),
  ]);
}
