/**
 * WebSocket fan-out: SUBSCRIBERS clients watch one item while a bidder places BID_RATE bids per second.
 * Delivery latency is measured from the event's own timestamp to its arrival (so client and server
 * clocks must agree: run the load generator on the server's host or an NTP-synced one). The seed fanned
 * out to 10k subscribers at p99 446 ms over four broadcasters.
 */
import { check, sleep } from "k6";
import { Counter, Trend } from "k6/metrics";
import { setTimeout } from "k6/timers";
import { WebSocket } from "k6/websockets";
import { envInt, RUN_ID, WS_URL } from "./lib/env.js";
import { everyScenarioRan } from "./lib/plan.js";
import { bid, body, createItem, getItem, KEY_HEADERS, plusCents } from "./lib/shop.js";
import { summarize, TREND_STATS } from "./lib/summary.js";

const SUBSCRIBERS = envInt("SUBSCRIBERS", 1000);
const BID_RATE = envInt("BID_RATE", 10);
const CONNECT_S = envInt("CONNECT_S", 20);
const BIDDING_S = envInt("BIDDING_S", 40);
/** Subscribers stay past the last bid so late deliveries still count. */
const HOLD_MS = (CONNECT_S + BIDDING_S + 5) * 1000;

const delivery = new Trend("ws_delivery_ms", true);
const received = new Counter("ws_bids_received");
const snapshots = new Counter("ws_snapshots");
const accepted = new Counter("ws_bids_accepted");

/** @type {Record<string, import("k6/options").Scenario>} */
const scenarios = {
  subscribers: {
    executor: "per-vu-iterations",
    exec: "subscribe",
    vus: SUBSCRIBERS,
    iterations: 1,
    maxDuration: `${Math.ceil(HOLD_MS / 1000) + 30}s`,
  },
  // Open loop: bids arrive at BID_RATE whatever the subscribers do, so the delivery delay is measured
  // at a fixed offered load.
  bidder: {
    executor: "constant-arrival-rate",
    exec: "placeBid",
    rate: BID_RATE,
    timeUnit: "1s",
    duration: `${BIDDING_S}s`,
    startTime: `${CONNECT_S}s`,
    preAllocatedVUs: 2,
    maxVUs: 10,
  },
};

/** @type {import("k6/options").Options} */
export const options = {
  scenarios,
  summaryTrendStats: TREND_STATS,
  thresholds: {
    ws_delivery_ms: ["p(99)<446"],
    ws_snapshots: [`count>=${SUBSCRIBERS}`],
    ws_bids_received: ["count>0"],
    checks: ["rate>0.999"],
    http_req_failed: ["rate<0.001"],
    ...everyScenarioRan(scenarios),
  },
};

export function setup() {
  const itemId = `k6-ws-${RUN_ID}`;
  const res = createItem(itemId, 1);
  if (res.status !== 201) throw new Error(`cannot create item ${itemId}: ${res.status} ${String(res.body)}`);
  return { itemId };
}

/** @param {{ itemId: string }} data */
export function subscribe(data) {
  const startedAt = Date.now();
  // Spread the connection storm over the first half of the connect window instead of one burst.
  sleep(((__VU - 1) / SUBSCRIBERS) * (CONNECT_S / 2));
  const ws = new WebSocket(`${WS_URL}/ws/items/${data.itemId}`, null, { headers: KEY_HEADERS });
  let first = true;
  ws.onmessage = (event) => {
    const frame = JSON.parse(String(event?.data));
    if (first) {
      check(frame, { "first frame is the snapshot": (f) => f.type === "snapshot" });
      if (frame.type === "snapshot") snapshots.add(1);
      first = false;
      return;
    }
    if (frame.type === "bid") {
      received.add(1);
      delivery.add(Date.now() - Date.parse(frame.timestamp));
    }
  };
  ws.onerror = (event) => {
    check(event, { "no WebSocket error": () => false });
  };
  setTimeout(() => ws.close(), HOLD_MS - (Date.now() - startedAt));
}

/** @param {{ itemId: string }} data */
export function placeBid(data) {
  const item = body(getItem(data.itemId));
  const current = typeof item.current_bid === "number" ? item.current_bid : 0;
  const res = bid(data.itemId, `k6-ws-bidder-${__VU}`, current < 1 ? 1 : plusCents(current, 1));
  if (res.status === 201) accepted.add(1);
}

/** @param {import("./lib/summary.js").SummaryData} data */
export function handleSummary(data) {
  const acceptedCount = data.metrics.ws_bids_accepted?.values.count ?? 0;
  const receivedCount = data.metrics.ws_bids_received?.values.count ?? 0;
  // Every subscriber is connected for the whole bidding window, so each should see every accepted bid.
  const completeness = acceptedCount > 0 ? receivedCount / (acceptedCount * SUBSCRIBERS) : null;
  return summarize("ws-fanout", data, [
    { metric: "ws_delivery_ms", stat: "p(99)", better: "lower", seed: 446 },
    { metric: "ws_delivery_ms", stat: "p(95)", better: "lower" },
    { metric: "delivered / (accepted × subscribers)", stat: "ratio", better: "higher", value: completeness },
  ]);
}
