/**
 * The order seeds' experiment and the async accept's capacity (`-e MODES=sync,async,capacity`, all by
 * default, run one after another):
 * - sync: VUS clients for DURATION_S against POST /orders/sync (payment simulated inline; PAYMENT_MS
 *   must match the server's PAYMENT_SIM_MS, 3 s like the seeds);
 * - async: VUS clients for DURATION_S against POST /orders/async. The seeds got 19 synchronous orders
 *   in 60 s with a 29.5 s average wait, against 3,500+ asynchronous ones answered in 33 ms; the count
 *   thresholds are those figures scaled to DURATION_S, and the averages are figures, not thresholds
 *   (closed-loop latency is the load generator's own queue). Their locustfiles are not published, so no
 *   think time is modelled: each client orders again as soon as it is answered.
 * - capacity: POST /orders/async open-loop at CAPACITY_LEVELS (50, 80) % of the api role's capacity
 *   (CAPACITY_RPS, else terraform/capacity.json); SLO p99 ≤ 10 ms.
 */
import { check } from "k6";
import { Counter } from "k6/metrics";
import { env, envInt, RUN_ID } from "./lib/env.js";
import {
  capacityFigures,
  capacityRps,
  capacityScenarios,
  capacityThresholds,
  chain,
  everyScenarioRan,
  SLO_P99_MS,
} from "./lib/plan.js";
import { body, orderAsync, orderSync } from "./lib/shop.js";
import { summarize, TREND_STATS } from "./lib/summary.js";

const VUS = envInt("VUS", 20);
const DURATION_S = envInt("DURATION_S", 60);
const PAYMENT_MS = envInt("PAYMENT_MS", 3000);
const MODES = env("MODES", "sync,async,capacity").split(",");
const unknown = MODES.filter((m) => !["sync", "async", "capacity"].includes(m));
if (unknown.length > 0) throw new Error(`MODES must be a subset of sync,async,capacity, got "${MODES}"`);

/** The seeds' figures over 60 s, scaled to this run's duration. */
const SEED = { syncCompleted: 19, syncAvgMs: 29500, asyncAccepted: 3500, asyncAvgMs: 33 };
const scaled = (/** @type {number} */ per60s) => Math.floor((per60s * DURATION_S) / 60);
/**
 * The longest a synchronous order can wait: every client queued behind one payment slot, as in the
 * seed. The sync scenario's graceful stop, so in-flight orders finish before the next scenario starts.
 */
const SYNC_DRAIN_S = Math.ceil((VUS * PAYMENT_MS) / 1000) + 5;

const syncCompleted = new Counter("orders_sync_completed");
const asyncAccepted = new Counter("orders_async_accepted");

/** @type {Record<string, import("k6/options").Scenario>} */
const scenarios = {};
if (MODES.includes("sync")) {
  scenarios.sync = {
    executor: "constant-vus",
    exec: "syncOrders",
    vus: VUS,
    duration: `${DURATION_S}s`,
    gracefulStop: `${SYNC_DRAIN_S}s`,
  };
}
if (MODES.includes("async")) {
  scenarios.async = {
    executor: "constant-vus",
    exec: "asyncOrders",
    vus: VUS,
    duration: `${DURATION_S}s`,
    gracefulStop: "5s",
  };
}
const capacity = MODES.includes("capacity")
  ? capacityScenarios("accept", "acceptOpenLoop", capacityRps("api"))
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
    ...(MODES.includes("sync") && {
      orders_sync_completed: [`count>${scaled(SEED.syncCompleted)}`],
      // Not a threshold (closed loop): named so k6 reports the sub-metric for the figures.
      "http_req_duration{scenario:sync}": [],
    }),
    ...(MODES.includes("async") && {
      orders_async_accepted: [`count>${scaled(SEED.asyncAccepted)}`],
      "http_req_duration{scenario:async}": [],
    }),
    ...capacityThresholds(capacity, SLO_P99_MS.asyncAccept),
  },
};

export function syncOrders() {
  const res = orderSync(`k6-${RUN_ID}-s-${__VU}-${__ITER}`, 1 + __VU, (SYNC_DRAIN_S + 5) * 1000);
  if (check(res, { "sync order completed": (r) => r.status === 200 && body(r).status === "completed" })) {
    syncCompleted.add(1);
  }
}

/** @param {string} prefix */
function accept(prefix) {
  const res = orderAsync(`k6-${RUN_ID}-${prefix}-${__VU}-${__ITER}`, 1 + __VU);
  const b = body(res);
  return check(res, {
    "async order accepted": (r) =>
      r.status === 202 && b.status === "pending" && typeof b.message_id === "string",
  });
}

export function asyncOrders() {
  if (accept("a")) asyncAccepted.add(1);
}

export function acceptOpenLoop() {
  accept("c");
}

/** @param {import("./lib/summary.js").SummaryData} data */
export function handleSummary(data) {
  /** @type {import("./lib/summary.js").Figure[]} */
  const figures = [];
  if (scenarios.sync) {
    figures.push(
      { metric: "orders_sync_completed", stat: "count", better: "higher", seed: scaled(SEED.syncCompleted) },
      { metric: "http_req_duration{scenario:sync}", stat: "avg", better: "lower", seed: SEED.syncAvgMs },
    );
  }
  if (scenarios.async) {
    figures.push(
      { metric: "orders_async_accepted", stat: "count", better: "higher", seed: scaled(SEED.asyncAccepted) },
      { metric: "http_req_duration{scenario:async}", stat: "avg", better: "lower", seed: SEED.asyncAvgMs },
      { metric: "http_req_duration{scenario:async}", stat: "p(99)", better: "lower" },
    );
  }
  figures.push(...capacityFigures(data, capacity));
  return summarize("orders", data, figures);
}
