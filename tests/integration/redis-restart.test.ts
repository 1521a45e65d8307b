import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { createItem, post, redisClient, Subscriber, until } from "../helpers/auctions.ts";
import { freePort, startTestShop, type TestShop } from "../helpers/shop.ts";

// Our own Redis, so restarting it never disturbs anyone else's tests on the shared one.
const port = freePort();
const url = `redis://127.0.0.1:${port}`;
const dir = mkdtempSync(join(tmpdir(), "shop-redis-"));
let redis: Subprocess | undefined;

async function startRedis(): Promise<void> {
  redis = Bun.spawn(
    [
      "redis-server",
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
    ],
    { stdout: "ignore", stderr: "ignore" },
  );
  const up = await until(
    async () => {
      try {
        const c = await redisClient(url);
        await c.ping();
        await c.close();
        return true;
      } catch {
        return false;
      }
    },
    10_000,
    50,
  );
  if (!up) throw new Error("redis-server did not start");
}

/** A restart that keeps the data, as a managed Redis failover does: SHUTDOWN SAVE, then start on the same dir. */
async function restartRedis(whileDown: () => Promise<void>): Promise<void> {
  const c = await redisClient(url);
  await c.sendCommand(["SHUTDOWN", "SAVE"]).catch(() => {});
  await redis?.exited;
  await whileDown();
  await startRedis();
}

let shop: TestShop;
beforeAll(async () => {
  await startRedis();
  shop = await startTestShop(["bidder", "broadcaster"], { REDIS_URL: url, REDIS_KEY_PREFIX: "restart:" });
});
afterAll(async () => {
  await shop?.stop();
  redis?.kill("SIGKILL");
  await redis?.exited;
  rmSync(dir, { recursive: true, force: true });
});

test("connections killed and Redis restarted under a running broadcaster: subscribers miss nothing", async () => {
  const { item_id } = await createItem(shop.url, { start_price: 0.01, min_increment: 0.01 });
  const subs = Array.from(
    { length: 5 },
    () => new Subscriber(`${shop.url.replace("http", "ws")}/ws/items/${item_id}`),
  );
  await Promise.all(subs.map((s) => s.opened));
  expect(await until(() => subs.every((s) => s.frames.length >= 1))).toBe(true);

  let cents = 1;
  const accepted: string[] = [];
  const refused = new Set<string>();
  const bid = async () => {
    const res = await post(`${shop.url}/api/v1/items/${item_id}/bid`, { user_id: "u", amount: cents / 100 });
    if (res.status === 201) {
      accepted.push(res.body.event_id);
      cents++;
    } else refused.add(`${res.status} ${res.body?.error}`);
    return res.status;
  };

  for (let i = 0; i < 20; i++) await bid();
  // Blips of the broadcaster's own connection while bids keep being accepted: each time it must
  // resume after the last id it delivered, not at the stream's end.
  const admin = await redisClient(url);
  const killTail = async () => {
    const list = String(await admin.sendCommand(["CLIENT", "LIST"]));
    const id = /id=(\d+) .*name=shop-stream-tail /.exec(list)?.[1];
    if (id) await admin.sendCommand(["CLIENT", "KILL", "ID", id]);
    return id !== undefined;
  };
  let kills = 0;
  for (let round = 0; round < 10; round++) {
    if (await killTail()) kills++;
    for (let i = 0; i < 5; i++) await bid();
  }
  expect(kills).toBeGreaterThan(3);
  const caughtUp = () => until(() => subs.every((s) => s.bids().length >= accepted.length), 15_000);
  expect(await caughtUp()).toBe(true);
  for (const s of subs) expect(s.bids().map((f) => f.event_id)).toEqual(accepted);
  // And a blip of every connection at once, the bidder's included.
  await admin.sendCommand(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"]);
  await admin.close();
  expect(await until(async () => (await bid()) === 201, 10_000)).toBe(true);

  await restartRedis(async () => {
    // While Redis is down a bid is refused with the uniform 503 body, never a 500.
    expect(await bid()).toBe(503);
  });
  expect(await until(async () => (await bid()) === 201, 15_000, 100)).toBe(true);
  for (let i = 0; i < 20; i++) await bid();

  expect([...refused]).toEqual(["503 SERVICE_UNAVAILABLE"]);
  expect(await caughtUp()).toBe(true);
  for (const s of subs) {
    expect(s.bids().map((f) => f.event_id)).toEqual(accepted);
    expect(s.closed).toBeUndefined();
  }
  for (const s of subs) s.close();
}, 60_000);
