/**
 * Contended bidding: every VU reads one item's price and bids just above it, ramping from VUS_START to
 * VUS_MAX (the seed went 100 → 10,000). Lost races answer 409 BID_TOO_LOW, which is expected. The
 * server's BID_STRATEGY (lua | optimistic) is set where the server starts; pass the same value here so
 * the results are filed under it: `k6 run -e BID_STRATEGY=optimistic k6/bidding.js`.
 */
import { check } from "k6";
import { Counter } from "k6/metrics";
import { env, envInt, RUN_ID } from "./lib/env.js";
import { bid, body, createItem, getItem, plusCents } from "./lib/shop.js";
import { summarize, TREND_STATS } from "./lib/summary.js";

const STRATEGY = env("BID_STRATEGY", "lua");
const VUS_START = envInt("VUS_START", 100);
const VUS_MAX = envInt("VUS_MAX", 1000);
const START_PRICE = 1;

/** The bidding seed: four tasks of 0.5 vCPU at 1000 users. */
const SEED = /** @type {Record<string, { rps: number, p99?: number }>} */ ({
  lua: { rps: 14466, p99: 70 },
  optimistic: { rps: 8733 },
});
const seed = SEED[STRATEGY];

const accepted = new Counter("bids_accepted");
const tooLow = new Counter("bids_too_low");

/** @type {import("k6/options").Options} */
export const options = {
  scenarios: {
    contention: {
      executor: "ramping-vus",
      startVUs: VUS_START,
      stages: [
        { duration: env("WARMUP", "10s"), target: VUS_START },
        { duration: env("RAMP", "30s"), target: VUS_MAX },
        { duration: env("HOLD", "30s"), target: VUS_MAX },
      ],
      gracefulRampDown: "5s",
    },
  },
  summaryTrendStats: TREND_STATS,
  thresholds: {
    http_req_failed: ["rate<0.001"],
    checks: ["rate>0.999"],
    bids_accepted: ["count>0"],
    "http_reqs{name:POST /api/v1/items/{id}/bid}": ["count>0"],
    "http_req_duration{name:POST /api/v1/items/{id}/bid}": [`p(99)<${seed?.p99 ?? 70}`],
    "http_req_duration{name:GET /api/v1/items/{id}}": ["p(99)<70"],
  },
};

export function setup() {
  const itemId = `k6-bid-${STRATEGY}-${RUN_ID}`;
  const res = createItem(itemId, START_PRICE);
  if (res.status !== 201) throw new Error(`cannot create item ${itemId}: ${res.status} ${String(res.body)}`);
  return { itemId };
}

/** @param {{ itemId: string }} data */
export default function (data) {
  const item = body(getItem(data.itemId));
  // Before the first bid current_bid may be null (or 0): the first acceptable bid is the start price.
  const current = typeof item.current_bid === "number" ? item.current_bid : 0;
  const amount = current < START_PRICE ? START_PRICE : plusCents(current, 1 + Math.floor(Math.random() * 5));
  const res = bid(data.itemId, `k6-user-${__VU}`, amount);
  const b = body(res);
  check(res, {
    "bid accepted exactly, or too low with the next minimum": (r) =>
      (r.status === 201 && b.amount === amount && (b.previous_bid === null || b.previous_bid < amount)) ||
      (r.status === 409 && b.error === "BID_TOO_LOW" && typeof b.data?.min_next_bid === "number"),
  });
  if (res.status === 201) accepted.add(1);
  else if (res.status === 409) tooLow.add(1);
}

/** @param {{ itemId: string }} data */
export function teardown(data) {
  const item = body(getItem(data.itemId));
  check(item, {
    "final price is above the start and counts every accepted bid": (i) =>
      typeof i.current_bid === "number" && i.current_bid > START_PRICE && i.bid_count > 0,
  });
}

/** @param {import("./lib/summary.js").SummaryData} data */
export function handleSummary(data) {
  return summarize(`bidding-${STRATEGY}`, data, [
    {
      metric: "http_reqs{name:POST /api/v1/items/{id}/bid}",
      stat: "rate",
      better: "higher",
      seed: seed?.rps,
    },
    {
      metric: "http_req_duration{name:POST /api/v1/items/{id}/bid}",
      stat: "p(99)",
      better: "lower",
      seed: seed?.p99,
    },
    { metric: "bids_accepted", stat: "rate", better: "higher" },
  ]);
}
