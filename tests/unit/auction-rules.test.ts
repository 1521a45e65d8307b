/**
 * The auction rules as tables: acceptance, proxy-bid resolution, increments, the reserve, the
 * extension boundary and the close outcome (domain/auctions.ts). The Lua scripts are held to the same
 * outcomes by tests/integration/auction-rules-redis.test.ts.
 */
import { describe, expect, test } from "bun:test";
import {
  applyDecision,
  type BidDecision,
  closeOutcome,
  customerOf,
  decideBid,
  decisionEvents,
  extension,
  ITEM_ID,
  type ItemState,
  minNextBid,
  relistOf,
  reserveMet,
  settlementOrderId,
  viewStatus,
} from "../../src/domain/auctions.ts";
import { testState } from "../helpers/auction-items.ts";

const item = (over: Partial<ItemState> = {}): ItemState =>
  testState({ start_price: 1000, min_increment: 100, ends_at: 10_000, max_end_at: 10_000, ...over });

describe("acceptance", () => {
  test.each([
    ["first bid below the start price", item(), 999, "too_low", 1000],
    ["first bid at the start price", item(), 1000, "accept", 1000],
    [
      "below current + increment",
      item({ current_bid: 1500, highest_bidder_id: "a", leader_max: 1500 }),
      1599,
      "too_low",
      1600,
    ],
    [
      "at current + increment",
      item({ current_bid: 1500, highest_bidder_id: "a", leader_max: 1500 }),
      1600,
      "accept",
      1600,
    ],
    [
      "an increment above the start price applies to the first bid",
      item({ start_price: 1, min_increment: 500 }),
      499,
      "too_low",
      500,
    ],
  ] as const)("%s", (_, state, amount, kind, min) => {
    expect(minNextBid(state)).toBe(min);
    expect(decideBid(state, { user_id: "z", amount, now: 0 }).kind).toBe(kind);
  });

  test("closed at ends_at exactly, and once the closer closed it, with the figures", () => {
    expect(decideBid(item(), { user_id: "a", amount: 5000, now: 9_999 }).kind).toBe("accept");
    expect(decideBid(item(), { user_id: "a", amount: 5000, now: 10_000 })).toEqual({
      kind: "closed",
      current_bid: 0,
      min_next_bid: 1000,
    });
    expect(decideBid(item({ status: "closed" }), { user_id: "a", amount: 5000, now: 0 }).kind).toBe("closed");
  });
});

type Bid = [user: string, amount: number, max?: number];
type Expect = "too_low" | [user: string, amount: number, auto: boolean][];

/** Runs bids in order through decideBid/applyDecision, returning each decision's steps and the end state. */
function run(start: ItemState, bids: Bid[]) {
  let state = start;
  const results: Expect[] = [];
  for (const [i, [user_id, amount, max_amount]] of bids.entries()) {
    const request = {
      item_id: "i",
      user_id,
      amount,
      max_amount,
      bid_id: `b${i}`,
      proxy_bid_id: `p${i}`,
      now: 0,
    };
    const d: BidDecision = decideBid(state, request);
    if (d.kind !== "accept") {
      results.push(d.kind === "too_low" ? "too_low" : []);
      continue;
    }
    const events = decisionEvents(state, d, request, []);
    state = applyDecision(state, d, events);
    results.push(d.steps.map((s) => [s.user_id, s.amount, s.auto]));
  }
  return { results, state };
}

describe("proxy bidding (start 10.00, increment 1.00)", () => {
  test.each<[string, Partial<ItemState>, Bid[], Expect[], { current: number; leader: string; max: number }]>([
    [
      "plain bids raise the price to the amount",
      {},
      [
        ["a", 1000],
        ["b", 1500],
      ],
      [[["a", 1000, false]], [["b", 1500, false]]],
      { current: 1500, leader: "b", max: 1500 },
    ],
    [
      "a maximum answers a lower challenger one increment above it",
      {},
      [
        ["a", 1000, 5000],
        ["b", 2000],
      ],
      [
        [["a", 1000, false]],
        [
          ["b", 2000, false],
          ["a", 2100, true],
        ],
      ],
      { current: 2100, leader: "a", max: 5000 },
    ],
    [
      "a higher maximum wins at the other maximum plus one increment (second price)",
      {},
      [
        ["a", 1000, 5000],
        ["b", 1100, 8000],
      ],
      [
        [["a", 1000, false]],
        [
          ["a", 5000, true],
          ["b", 5100, true],
        ],
      ],
      { current: 5100, leader: "b", max: 8000 },
    ],
    [
      "equal maximums: the earlier one keeps the lead at that maximum",
      {},
      [
        ["a", 1000, 5000],
        ["b", 1100, 5000],
      ],
      [[["a", 1000, false]], [["a", 5000, true]]],
      { current: 5000, leader: "a", max: 5000 },
    ],
    [
      "a maximum less than an increment above the leader's wins at its maximum",
      {},
      [
        ["a", 1000, 5000],
        ["b", 1100, 5050],
      ],
      [
        [["a", 1000, false]],
        [
          ["a", 5000, true],
          ["b", 5050, true],
        ],
      ],
      { current: 5050, leader: "b", max: 5050 },
    ],
    [
      "the answer is capped at the leader's maximum",
      {},
      [
        ["a", 1000, 2050],
        ["b", 2000],
      ],
      [
        [["a", 1000, false]],
        [
          ["b", 2000, false],
          ["a", 2050, true],
        ],
      ],
      { current: 2050, leader: "a", max: 2050 },
    ],
    [
      "an amount past the leader's maximum needs no answer, and still pays the maximum plus an increment",
      {},
      [
        ["a", 1000, 2000],
        ["b", 2050, 9000],
        ["c", 3000],
      ],
      [
        [["a", 1000, false]],
        [["b", 2100, true]],
        [
          ["c", 3000, false],
          ["b", 3100, true],
        ],
      ],
      { current: 3100, leader: "b", max: 9000 },
    ],
    [
      "a losing maximum bids itself before the answer",
      {},
      [
        ["a", 1000, 9000],
        ["b", 1100, 4000],
      ],
      [
        [["a", 1000, false]],
        [
          ["b", 4000, true],
          ["a", 4100, true],
        ],
      ],
      { current: 4100, leader: "a", max: 9000 },
    ],
    [
      "a maximum equal to the current bid is below the minimum: too low",
      {},
      [
        ["a", 1000],
        ["b", 1000, 1000],
      ],
      [[["a", 1000, false]], "too_low"],
      { current: 1000, leader: "a", max: 1000 },
    ],
    [
      "an amount below the minimum is too low whatever the maximum",
      {},
      [
        ["a", 1000],
        ["b", 1050, 90_000],
      ],
      [[["a", 1000, false]], "too_low"],
      { current: 1000, leader: "a", max: 1000 },
    ],
    [
      "the leader raising their maximum bids their amount and keeps the higher maximum",
      {},
      [
        ["a", 1000, 2000],
        ["a", 1100, 5000],
        ["b", 3000],
      ],
      [
        [["a", 1000, false]],
        [["a", 1100, false]],
        [
          ["b", 3000, false],
          ["a", 3100, true],
        ],
      ],
      { current: 3100, leader: "a", max: 5000 },
    ],
    [
      "a maximum at or above the reserve lifts the price to the reserve",
      { reserve_price: 4000 },
      [
        ["a", 1000, 5000],
        ["b", 4100],
      ],
      [
        [["a", 4000, true]],
        [
          ["b", 4100, false],
          ["a", 4200, true],
        ],
      ],
      { current: 4200, leader: "a", max: 5000 },
    ],
    [
      "below the reserve nothing is lifted; a challenger reaching it is lifted to it",
      { reserve_price: 4000 },
      [
        ["a", 1000, 3000],
        ["b", 2000, 4500],
      ],
      [
        [["a", 1000, false]],
        [
          ["a", 3000, true],
          ["b", 4000, true],
        ],
      ],
      { current: 4000, leader: "b", max: 4500 },
    ],
  ])("%s", (_, over, bids, expected, end) => {
    const { results, state } = run(item(over), bids);
    expect(results).toEqual(expected);
    expect({ current: state.current_bid, leader: state.highest_bidder_id, max: state.leader_max }).toEqual(
      end,
    );
    expect(state.bid_count).toBe(results.reduce((n, r) => n + (r === "too_low" ? 0 : r.length), 0));
  });

  test("every accepted decision's prices rise strictly and never pass the bidder's maximum", () => {
    for (let seed = 0; seed < 2000; seed++) {
      let x = seed * 7919 + 1;
      const rnd = (n: number) => {
        x = (x * 48271) % 2147483647;
        return x % n;
      };
      let state = item({ reserve_price: rnd(2) ? 0 : 3000 });
      for (let i = 0; i < 8; i++) {
        const user = `u${rnd(3)}`;
        const amount = minNextBid(state) + rnd(3) * 50 - 50;
        const max = rnd(2) ? amount + rnd(40) * 100 : undefined;
        const request = {
          item_id: "i",
          user_id: user,
          amount,
          max_amount: max,
          bid_id: "b",
          proxy_bid_id: "p",
          now: 0,
        };
        const d = decideBid(state, request);
        if (d.kind !== "accept") continue;
        let previous = state.current_bid;
        for (const s of d.steps) {
          expect(s.amount).toBeGreaterThan(previous);
          if (s.own) expect(s.amount).toBeLessThanOrEqual(Math.max(amount, max ?? amount));
          previous = s.amount;
        }
        state = applyDecision(state, d, decisionEvents(state, d, request, []));
        expect(state.leader_max).toBeGreaterThanOrEqual(state.current_bid);
      }
    }
  });
});

describe("anti-sniping extension (ends 10.000 s, window 5 s, cap 20.000 s)", () => {
  const it = (over: Partial<ItemState> = {}) => item({ extend_window_s: 5, max_end_at: 20_000, ...over });
  test.each([
    ["1 ms before ends_at: moved to bid time + window", 9_999, 14_999],
    ["exactly one window before the end: the end would not move", 5_000, undefined],
    ["1 ms inside the window", 5_001, 10_001],
    ["well before the window", 1_000, undefined],
  ])("%s", (_, now, to) => {
    expect(extension(it(), now)).toBe(to);
    const d = decideBid(it(), { user_id: "a", amount: 1000, now });
    expect(d.kind === "accept" && d.extended_to).toBe(to ?? undefined);
  });

  test("a bid at ends_at is refused, so it cannot extend", () => {
    expect(decideBid(it(), { user_id: "a", amount: 1000, now: 10_000 }).kind).toBe("closed");
  });

  test("never past max_end_at; off when the window is 0 or the cap is the end", () => {
    expect(extension(it({ ends_at: 18_000 }), 17_000)).toBe(20_000);
    expect(extension(it({ ends_at: 20_000 }), 19_999)).toBeUndefined();
    expect(extension(it({ extend_window_s: 0 }), 9_999)).toBeUndefined();
    expect(extension(item({ extend_window_s: 5 }), 9_999)).toBeUndefined();
  });

  test("the extended end is the new ends_at and the extension an event after the bid", () => {
    const state = it();
    const request = { item_id: "i", user_id: "a", amount: 1000, bid_id: "b", proxy_bid_id: "p", now: 9_999 };
    const d = decideBid(state, request);
    if (d.kind !== "accept") throw new Error("refused");
    const events = decisionEvents(state, d, request, ["1-0", "1-1"]);
    expect(events.map((e) => [e.type, e.seq])).toEqual([
      ["bid", 1],
      ["extended", 2],
    ]);
    const after = applyDecision(state, d, events);
    expect([after.ends_at, after.seq, after.bid_count]).toEqual([14_999, 2, 1]);
    expect(viewStatus(after, 10_000)).toBe("open");
    expect(viewStatus(after, 14_999)).toBe("closed");
  });
});

describe("reserve and the close outcome", () => {
  test.each([
    [
      "no bids: unsold",
      item(),
      { status: "unsold", winner_id: null, amount: 0, reserve_met: false, settlement_status: null },
    ],
    [
      "a bid and no reserve: sold to the leader, settlement pending",
      item({ current_bid: 1200, highest_bidder_id: "a", leader_max: 3000, bid_count: 1 }),
      { status: "closed", winner_id: "a", amount: 1200, reserve_met: true, settlement_status: "pending" },
    ],
    [
      "below the reserve: unsold, with the highest bid",
      item({
        reserve_price: 5000,
        current_bid: 4900,
        highest_bidder_id: "a",
        leader_max: 4900,
        bid_count: 3,
      }),
      { status: "unsold", winner_id: null, amount: 4900, reserve_met: false, settlement_status: null },
    ],
    [
      "at the reserve: sold",
      item({
        reserve_price: 5000,
        current_bid: 5000,
        highest_bidder_id: "a",
        leader_max: 5000,
        bid_count: 3,
      }),
      { status: "closed", winner_id: "a", amount: 5000, reserve_met: true, settlement_status: "pending" },
    ],
  ] as const)("%s", (_, state, outcome) => {
    expect(closeOutcome(state)).toEqual(outcome);
    expect(reserveMet(state)).toBe(outcome.reserve_met);
  });
});

describe("settlement names", () => {
  test("the order id is derived from the item, fits the order id alphabet and differs per item", () => {
    const a = settlementOrderId("lamp-1");
    expect(a).toBe(settlementOrderId("lamp-1"));
    expect(a).not.toBe(settlementOrderId("lamp-2"));
    expect(a).toMatch(/^auction-[0-9a-f]{40}$/);
    expect(settlementOrderId("x".repeat(64))).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
  });

  test.each([
    ["17", 17],
    ["2147483647", 2147483647],
    ["2147483648", undefined],
    ["0", undefined],
    ["017", undefined],
    ["ann", undefined],
  ])("customer of user %s", (user, customer) => {
    expect(customerOf(user)).toBe(customer);
  });

  test("a relisting keeps the terms, runs as long as the first and has a derived, valid id", () => {
    const first = item({
      item_id: "y".repeat(64),
      created_at: 0,
      ends_at: 10_000,
      max_end_at: 12_000,
      reserve_price: 700,
    });
    const relist = relistOf(first, 50_000);
    expect(relist).toMatchObject({
      ends_at: 60_000,
      max_end_at: 62_000,
      reserve_price: 700,
      relisted_from: first.item_id,
    });
    expect(relist.item_id).toMatch(ITEM_ID);
    expect(relistOf(first, 99).item_id).toBe(relist.item_id);
  });
});
