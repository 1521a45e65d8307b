/**
 * Portability: the same sources under Deno (`deno run -A src/main.ts --role all`) pass the same
 * contract suites as under Bun — products, carts/warehouse/payments/checkout, the bidder — plus the
 * live WebSocket's snapshot and bid frames, and stop cleanly on SIGTERM.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { bidderContract } from "../helpers/auction-contract.ts";
import { createItem, post, Subscriber, until } from "../helpers/auctions.ts";
import { productContract } from "../helpers/product-contract.ts";
import { denoCommand, type Spawned, spawnShop } from "../helpers/shop.ts";
import { COMMERCE_ENV, commerceSuite } from "./commerce-suite.ts";

const deno = (env: Record<string, string>) =>
  spawnShop(["--role", "all"], { ...env, DENO_NO_UPDATE_CHECK: "1" }, denoCommand());

// Two processes: the commerce suite checks the admin guard (ADMIN_TOKEN set), the bidder contract
// creates items the way a deployment without ADMIN_TOKEN does.
let shop: Spawned;
let open: Spawned;
beforeAll(async () => {
  [shop, open] = await Promise.all([deno(COMMERCE_ENV), deno({})]);
});
afterAll(async () => {
  for (const p of [shop, open]) p.proc.kill("SIGTERM");
  expect(await Promise.all([shop.proc.exited, open.proc.exited])).toEqual([0, 0]);
});

/** The suites share the processes; they stop once, after all of them. */
const shared = (p: () => Spawned) => async () => ({ url: p().url, stop: async () => {} });

productContract("deno", () => shop.url);
commerceSuite(
  "deno",
  shared(() => shop),
  { flash: 200, inProcess: false },
);
bidderContract(
  "deno",
  shared(() => open),
);

test("deno: a subscriber gets the snapshot, then each accepted bid as a frame", async () => {
  const { item_id } = await createItem(open.url, { start_price: 1 });
  expect(
    (await post(`${open.url}/api/v1/items/${item_id}/bid`, { user_id: "early", amount: 1 })).status,
  ).toBe(201);
  const sub = new Subscriber(`${open.url.replace("http", "ws")}/ws/items/${item_id}`);
  await sub.opened;
  expect(await until(() => sub.frames.length >= 1)).toBe(true);
  expect(sub.frames[0]).toMatchObject({ type: "snapshot", item_id, current_bid: 1, bid_count: 1 });
  const amounts = [1.5, 2, 3.25];
  for (const amount of amounts) {
    expect((await post(`${open.url}/api/v1/items/${item_id}/bid`, { user_id: "u", amount })).status).toBe(
      201,
    );
  }
  expect(await until(() => sub.bids().length >= amounts.length)).toBe(true);
  expect(sub.bids().map((f) => f.amount)).toEqual(amounts);
  expect(sub.bids()[0]).toMatchObject({ type: "bid", item_id, user_id: "u", previous_bid: 1 });
  sub.close();
});

test("deno: --version names the runtime", () => {
  const version = Bun.spawnSync([...denoCommand(), "--version"]);
  expect(version.stdout.toString()).toContain("deno ");
});
