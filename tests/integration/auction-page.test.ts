import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { createItem, post } from "../helpers/auctions.ts";
import { startTestShop, type TestShop } from "../helpers/shop.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const profile = mkdtempSync(join(tmpdir(), "shop-chromium-"));
let shop: TestShop;
let browser: BrowserContext;

beforeAll(async () => {
  shop = await startTestShop(["all"], {
    AUCTION_CLOSE_POLL_MS: "20",
    AUCTION_SETTLE_POLL_MS: "20",
    PAYMENT_SIM_MS: "0",
  });
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-quic",
      "--no-first-run",
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await shop?.stop();
  rmSync(profile, { recursive: true, force: true });
});

test("the live page shows a bid placed through the API, and a refused bid's error", async () => {
  const { item_id } = await createItem(shop.url, { name: "Brass lamp", start_price: 10, min_increment: 0.5 });
  const page = await browser.newPage();
  await page.goto(`${shop.url}/auctions/${item_id}`);
  await page.locator("#conn", { hasText: "live" }).waitFor({ timeout: 10_000 });
  expect(await page.locator("#name").textContent()).toBe("Brass lamp");
  expect(await page.locator("#countdown").textContent()).toMatch(/^\d\d:\d\d:\d\d$|^\d+d /);

  const res = await post(`${shop.url}/api/v1/items/${item_id}/bid`, { user_id: "ann", amount: 12.34 });
  expect(res.status).toBe(201);
  await page.locator("#price", { hasText: "12.34" }).waitFor({ timeout: 10_000 });
  expect(await page.locator("#bidder").textContent()).toBe("ann");
  expect(await page.locator("#feed li").first().textContent()).toContain("12.34");

  await page.fill("#user", "bob");
  await page.fill("#amount", "12.5");
  await page.click("button[type=submit]");
  await page.locator("#error", { hasText: "at least 12.84" }).waitFor({ timeout: 10_000 });
  expect(await page.locator("#error").textContent()).toContain("(minimum next bid 12.84)");

  await page.fill("#amount", "13");
  await page.click("button[type=submit]");
  await page.locator("#ok", { hasText: "13.00" }).waitFor({ timeout: 10_000 });
  await page.locator("#price", { hasText: "13.00" }).waitFor({ timeout: 10_000 });
  expect(await page.locator("#error").textContent()).toBe("");
  expect(await page.locator("#feed li").count()).toBe(2);
}, 60_000);

test("extension, close and outcome, reserve, leading and outbid for the viewer; a reconnect resumes after the last event", async () => {
  const ends = Date.now() + 4000;
  const { item_id } = await createItem(shop.url, {
    name: "Clock",
    start_price: 10,
    min_increment: 1,
    reserve_price: 30,
    ends_at: new Date(ends).toISOString(),
    extend_window_s: 3,
    max_end_at: new Date(ends + 2000).toISOString(),
  });
  const page = await browser.newPage();
  await page.goto(`${shop.url}/auctions/${item_id}`);
  await page.locator("#conn", { hasText: "live" }).waitFor({ timeout: 10_000 });
  expect(await page.locator("#reserve").textContent()).toBe("reserve not met");

  // The viewer bids with a hidden maximum: they lead, and the price stays at their amount.
  await page.fill("#user", "17");
  await page.fill("#amount", "10");
  await page.fill("#max", "25");
  await page.click("button[type=submit]");
  await page.locator("#you", { hasText: "You are the highest bidder" }).waitFor({ timeout: 10_000 });
  expect(await page.locator("#price").textContent()).toBe("10.00");

  // Someone else outbids the maximum (and meets the reserve), inside the last 3 s: the end moves.
  const before = await page.locator("#ends-at").getAttribute("data-ends-at");
  const wait = ends - 2500 - Date.now();
  if (wait > 0) await Bun.sleep(wait);
  const res = await post(`${shop.url}/api/v1/items/${item_id}/bid`, { user_id: "18", amount: 31 });
  expect(res.status).toBe(201);
  await page.locator("#you", { hasText: "You have been outbid" }).waitFor({ timeout: 10_000 });
  await page.locator("#price", { hasText: "31.00" }).waitFor({ timeout: 10_000 });
  await page.locator("#reserve", { hasText: "reserve met" }).waitFor({ timeout: 10_000 });
  expect(await page.locator("#feed li").first().textContent()).toContain("by 18");
  expect(await page.locator("#feed li").nth(1).textContent()).toContain("10.00  by 17");
  await page.waitForFunction((b) => document.getElementById("ends-at")?.dataset.endsAt !== b, before, {
    timeout: 10_000,
  });
  const moved = Date.parse((await page.locator("#ends-at").getAttribute("data-ends-at")) ?? "");
  expect(moved).toBe(Date.parse(res.body.ends_at));
  expect(moved).toBeGreaterThan(ends);

  // The socket drops; bids meanwhile arrive after the reconnect, each once.
  await page.evaluate(() =>
    (window as unknown as { auctionFeed: { socket: WebSocket } }).auctionFeed.socket.close(),
  );
  expect((await post(`${shop.url}/api/v1/items/${item_id}/bid`, { user_id: "19", amount: 32 })).status).toBe(
    201,
  );
  await page.locator("#price", { hasText: "32.00" }).waitFor({ timeout: 10_000 });
  const urls = await page.evaluate(
    () => (window as unknown as { auctionFeed: { urls: string[] } }).auctionFeed.urls,
  );
  expect(urls.at(-1)).toMatch(/\?since=\d+-\d+$/);
  expect(await page.locator("#feed li").count()).toBe(3);

  // The close, then the settlement: the outcome names the winner and the paid order.
  await page.locator("#outcome", { hasText: "Sold to 19 for 32.00" }).waitFor({ timeout: 15_000 });
  await page.locator("#outcome", { hasText: "paid (order auction-" }).waitFor({ timeout: 15_000 });
  expect(await page.locator("#countdown").textContent()).toBe("ended");
  expect(await page.locator("#you").textContent()).toBe("You did not win");
}, 60_000);

test("an unknown item says so", async () => {
  const page = await browser.newPage();
  await page.goto(`${shop.url}/auctions/nope`);
  await page.locator("#name", { hasText: "Auction not found" }).waitFor({ timeout: 10_000 });
});
