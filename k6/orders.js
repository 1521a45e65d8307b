/**
 * The order seeds' experiment: 20 clients for 60 s against POST /orders/sync (payment simulated inline,
 * 3 s by default), then 20 clients for 60 s against POST /orders/async. The seeds got 19 synchronous
 * orders in 60 s with a 29.5 s average wait, against 3,500+ asynchronous ones answered in 33 ms.
 */
import { check } from "k6";
import { Counter } from "k6/metrics";
import { env, envInt, RUN_ID } from "./lib/env.js";
import { body, orderAsync, orderSync } from "./lib/shop.js";
import { summarize, TREND_STATS } from "./lib/summary.js";

const VUS = envInt("VUS", 20);
const DURATION_S = envInt("DURATION_S", 60);
const MODES = env("MODES", "sync,async").split(",");

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
    // In-flight synchronous orders may take several payment times to answer; let them finish.
    gracefulStop: "60s",
  };
}
if (MODES.includes("async")) {
  scenarios.async = {
    executor: "constant-vus",
    exec: "asyncOrders",
    vus: VUS,
    duration: `${DURATION_S}s`,
    startTime: MODES.includes("sync") ? `${DURATION_S + 65}s` : "0s",
    gracefulStop: "5s",
  };
}

/** @type {import("k6/options").Options} */
export const options = {
  scenarios,
  summaryTrendStats: TREND_STATS,
  thresholds: {
    http_req_failed: ["rate<0.001"],
    checks: ["rate>0.999"],
    ...(MODES.includes("sync") && {
      orders_sync_completed: ["count>19"],
      "http_req_duration{name:POST /orders/sync}": ["avg<29500"],
    }),
    ...(MODES.includes("async") && {
      orders_async_accepted: ["count>3500"],
      "http_req_duration{name:POST /orders/async}": ["avg<33", "p(99)<100"],
    }),
  },
};

export function syncOrders() {
  const res = orderSync(`k6-${RUN_ID}-s-${__VU}-${__ITER}`, 1 + __VU);
  if (check(res, { "sync order completed": (r) => r.status === 200 && body(r).status === "completed" })) {
    syncCompleted.add(1);
  }
}

export function asyncOrders() {
  const res = orderAsync(`k6-${RUN_ID}-a-${__VU}-${__ITER}`, 1 + __VU);
  const b = body(res);
  const accepted = check(res, {
    "async order accepted": (r) =>
      r.status === 202 && b.status === "pending" && typeof b.message_id === "string",
  });
  if (accepted) asyncAccepted.add(1);
}

/** @param {import("./lib/summary.js").SummaryData} data */
export function handleSummary(data) {
  return summarize("orders", data, [
    { metric: "orders_sync_completed", stat: "count", better: "higher", seed: 19 },
    { metric: "http_req_duration{name:POST /orders/sync}", stat: "avg", better: "lower", seed: 29500 },
    { metric: "orders_async_accepted", stat: "count", better: "higher", seed: 3500 },
    { metric: "http_req_duration{name:POST /orders/async}", stat: "avg", better: "lower", seed: 33 },
    { metric: "http_req_duration{name:POST /orders/async}", stat: "p(99)", better: "lower" },
  ]);
}
