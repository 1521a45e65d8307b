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
  shop = await startTestShop(["all"]);
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

test("an unknown item says so", async () => {
  const page = await browser.newPage();
  await page.goto(`${shop.url}/auctions/nope`);
  await page.locator("#name", { hasText: "Auction not found" }).waitFor({ timeout: 10_000 });
});
