/**
 * Bidding, in two parts (`-e PARTS=seed,capacity`, both by default):
 * - seed: the bidding seed's ContendedItemBidder. Every VU reads one item's price and bids just above it
 *   with no think time (the seed's 14,466 bids/s from 1000 users is one bid per user every 69 ms, its
 *   p99), ramping from VUS_START to VUS_MAX (the seed went 100 → 10,000). Lost races answer 409
 *   BID_TOO_LOW, which is expected. Closed-loop at saturation, so no latency thresholds.
 * - capacity: bids open-loop at CAPACITY_LEVELS (50, 80) % of the bidder role's capacity (CAPACITY_RPS,
 *   else terraform/capacity.json), each level on its own item with amounts rising by one cent per
 *   arrival (no read first, so only the bid is measured); SLO p99 ≤ 20 ms.
 * The server's BID_STRATEGY (lua | optimistic, both on Redis) is set where the server starts; pass the
 * same value here so the results are filed under it: `k6 run -e BID_STRATEGY=optimistic k6/bidding.js`.
 * `memory` files a run against a server without Redis, where no strategy applies.
 */
import { check } from "k6";
import exec from "k6/execution";
import { Counter } from "k6/metrics";
import { env, envDurationMs, envInt, RUN_ID } from "./lib/env.js";
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
import { bid, body, createItem, getItem, plusCents } from "./lib/shop.js";
import { summarize, TREND_STATS } from "./lib/summary.js";

const STRATEGIES = ["lua", "optimistic", "memory"];
const STRATEGY = env("BID_STRATEGY", "lua");
if (!STRATEGIES.includes(STRATEGY))
  throw new Error(`BID_STRATEGY must be one of ${STRATEGIES}, got "${STRATEGY}"`);
const PARTS = parts(["seed", "capacity"]);
const VUS_START = envInt("VUS_START", 100);
const VUS_MAX = envInt("VUS_MAX", 1000);
const START_PRICE = 1;
const BID = "POST /api/v1/items/{id}/bid";

/** The bidding seed: four tasks of 0.5 vCPU at 1000 users. */
const SEED = /** @type {Record<string, { rps: number, p99?: number }>} */ ({
  lua: { rps: 14466, p99: 70 },
  optimistic: { rps: 8733 },
});
const seed = SEED[STRATEGY];

const accepted = new Counter("bids_accepted");
const tooLow = new Counter("bids_too_low");

/** @type {Record<string, import("k6/options").Scenario>} */
const scenarios = {};
if (PARTS.includes("seed")) {
  scenarios.seed = {
    executor: "ramping-vus",
    exec: "contend",
    startVUs: VUS_START,
    stages: [
      { duration: `${envDurationMs("WARMUP", "10s")}ms`, target: VUS_START },
      { duration: `${envDurationMs("RAMP", "30s")}ms`, target: VUS_MAX },
      { duration: `${envDurationMs("HOLD", "30s")}ms`, target: VUS_MAX },
    ],
    gracefulRampDown: "5s",
    gracefulStop: "5s",
  };
}
const capacity = PARTS.includes("capacity")
  ? capacityScenarios("bid", "bidOpenLoop", capacityRps("bidder"))
  : {};
Object.assign(scenarios, capacity);

/** @type {import("k6/options").Options} */
export const options = {
  scenarios: chain(scenarios),
  summaryTrendStats: TREND_STATS,
  thresholds: {
    http_req_failed: ["rate<0.001"],
    checks: ["rate>0.999"],
    bids_accepted: ["count>0"],
    ...everyScenarioRan(scenarios),
    ...(PARTS.includes("seed") && {
      [`http_reqs{scenario:seed,name:${BID}}`]: ["count>0"],
      // Not thresholds (closed loop): named so k6 reports the sub-metric for the figures.
      [`http_req_duration{scenario:seed,name:${BID}}`]: [],
    }),
    ...capacityThresholds(capacity, SLO_P99_MS.bid),
  },
};

export function setup() {
  /** @type {Record<string, string>} */
  const items = {};
  for (const key of ["seed", ...Object.keys(capacity)]) {
    const itemId = `k6-bid-${STRATEGY}-${RUN_ID}-${key}`;
    const res = createItem(itemId, START_PRICE);
    if (res.status !== 201)
      throw new Error(`cannot create item ${itemId}: ${res.status} ${String(res.body)}`);
    items[key] = itemId;
  }
  return { items };
}

/** @typedef {{ items: Record<string, string> }} Data */

/** @param {import("k6/http").RefinedResponse<any>} res @param {number} amount */
function judge(res, amount) {
  const b = body(res);
  check(res, {
    "bid accepted exactly, or too low with the next minimum": (r) =>
      (r.status === 201 && b.amount === amount && (b.previous_bid === null || b.previous_bid < amount)) ||
      (r.status === 409 && b.error === "BID_TOO_LOW" && typeof b.data?.min_next_bid === "number"),
  });
  if (res.status === 201) accepted.add(1);
  else if (res.status === 409) tooLow.add(1);
}

/** @param {Data} data */
export function contend(data) {
  const itemId = data.items.seed ?? "";
  const item = body(getItem(itemId));
  // Before the first bid current_bid may be null (or 0): the first acceptable bid is the start price.
  const current = typeof item.current_bid === "number" ? item.current_bid : 0;
  const amount = current < START_PRICE ? START_PRICE : plusCents(current, 1 + Math.floor(Math.random() * 5));
  judge(bid(itemId, `k6-user-${__VU}`, amount), amount);
}

/**
 * Arrival n bids the start price plus n cents: amounts rise with the arrivals, and the few that overtake
 * each other in flight answer 409.
 * @param {Data} data
 */
export function bidOpenLoop(data) {
  const amount = plusCents(START_PRICE, exec.scenario.iterationInTest);
  judge(bid(data.items[exec.scenario.name] ?? "", `k6-user-${__VU}`, amount), amount);
}

/** @param {Data} data */
export function teardown(data) {
  for (const itemId of Object.values(data.items)) {
    const item = body(getItem(itemId));
    check(item, {
      "final price is above the start and counts every accepted bid": (i) =>
        typeof i.current_bid === "number" && i.current_bid > START_PRICE && i.bid_count > 0,
    });
  }
}

/** @param {import("./lib/summary.js").SummaryData} data */
export function handleSummary(data) {
  /** @type {import("./lib/summary.js").Figure[]} */
  const figures = [];
  if (scenarios.seed) {
    const seconds = runMs(scenarios.seed) / 1000;
    const count = data.metrics[`http_reqs{scenario:seed,name:${BID}}`]?.values.count;
    figures.push(
      {
        metric: `seed bidders: bids/s over the ${seconds} s warm-up, ramp and hold`,
        stat: "rate",
        better: "higher",
        seed: seed?.rps,
        value: count === undefined ? null : count / seconds,
      },
      {
        metric: `http_req_duration{scenario:seed,name:${BID}}`,
        stat: "p(99)",
        better: "lower",
        seed: seed?.p99,
      },
      { metric: "bids_accepted", stat: "count", better: "higher" },
    );
  }
  figures.push(...capacityFigures(data, capacity));
  return summarize(`bidding-${STRATEGY}`, data, figures);
}
