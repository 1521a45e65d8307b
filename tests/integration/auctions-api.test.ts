import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Role } from "../../src/modules/registry.ts";
import { bidderContract } from "../helpers/auction-contract.ts";
import { dropRedisPrefix, future, post, REDIS_URL, runId } from "../helpers/auctions.ts";
import { freePort, startTestShop, type TestShop } from "../helpers/shop.ts";

const prefix = `${runId("api")}:`;

const backends: { name: string; roles: Role[]; env: Record<string, string> }[] = [
  { name: "memory", roles: ["all"], env: {} },
  {
    name: "redis lua",
    roles: ["bidder"],
    env: { REDIS_URL, REDIS_KEY_PREFIX: `${prefix}lua:`, BID_STRATEGY: "lua" },
  },
  {
    name: "redis optimistic",
    roles: ["bidder"],
    env: { REDIS_URL, REDIS_KEY_PREFIX: `${prefix}opt:`, BID_STRATEGY: "optimistic" },
  },
];

afterAll(() => dropRedisPrefix(prefix));

for (const backend of backends) {
  bidderContract(backend.name, async () => {
    const shop = await startTestShop(backend.roles, backend.env);
    return { url: shop.url, stop: shop.stop };
  });
}

describe("ADMIN_TOKEN", () => {
  let shop: TestShop;
  beforeAll(async () => {
    shop = await startTestShop(["all"], { ADMIN_TOKEN: "s3cret-admin-token" });
  });
  afterAll(() => shop.stop());

  test("creating needs the bearer token; bidding does not", async () => {
    const body = { item_id: "guarded", name: "x", start_price: 1, ends_at: future() };
    const none = await post(`${shop.url}/api/v1/items`, body);
    expect(none.status).toBe(401);
    expect(none.body.error).toBe("UNAUTHORIZED");
    expect((await post(`${shop.url}/api/v1/items`, body, { Authorization: "Bearer wrong" })).status).toBe(
      403,
    );
    expect(
      (await post(`${shop.url}/api/v1/items`, body, { Authorization: "Bearer s3cret-admin-token" })).status,
    ).toBe(201);
    expect((await post(`${shop.url}/api/v1/items/guarded/bid`, { user_id: "u", amount: 1 })).status).toBe(
      201,
    );
  });
});

test("a Redis unreachable at start stops startup with the reason", async () => {
  const failed = await startTestShop(["bidder"], { REDIS_URL: `redis://127.0.0.1:${freePort()}` }).catch(
    (e) => e,
  );
  expect(failed).toBeInstanceOf(Error);
  expect(String(failed.message)).toContain("not reachable");
}, 15_000);
