/**
 * The live page in headless Chromium on a shop with credentials enforced (as every deployment is): viewing
 * and the feed are public, bids carry the credential the viewer signed in with, refusals say so.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page, type Request } from "playwright-core";
import { createItem, post } from "../helpers/auctions.ts";
import { AUDIENCE, claims, type Idp, ISSUER, startIdp } from "../helpers/jwks.ts";
import { startTestShop, type TestShop } from "../helpers/shop.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const profile = mkdtempSync(join(tmpdir(), "shop-chromium-"));
const ADMIN = "admin-token-0123456789abcdef";
const BIDDER = "bidder-key-0123456789abcdef";
const READER = "reader-key-0123456789abcdef";
const asAdmin = { authorization: `Bearer ${ADMIN}` };
const asBidder = { "x-api-key": BIDDER };
let idp: Idp;
let shop: TestShop;
let browser: BrowserContext;

beforeAll(async () => {
  idp = await startIdp();
  shop = await startTestShop(["all"], {
    AUTH_DISABLED: "false",
    ADMIN_TOKEN: ADMIN,
    API_KEYS: JSON.stringify([
      { name: "bidder", key: BIDDER, scopes: ["bids"] },
      { name: "reader", key: READER, scopes: ["catalog:read"] },
    ]),
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    JWT_JWKS_URL: idp.jwksUrl,
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
  idp?.stop();
  rmSync(profile, { recursive: true, force: true });
});

/** A page on the item, live, recording its CSP refusals and every request it makes. */
async function openPage(itemId: string) {
  const page = await browser.newPage();
  const refused: string[] = [];
  const requests: Request[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
  });
  page.on("request", (r) => requests.push(r));
  await page.goto(`${shop.url}/auctions/${itemId}`);
  await page.locator("#conn", { hasText: "live" }).waitFor({ timeout: 10_000 });
  return { page, refused, requests };
}

async function signIn(page: Page, credential: string) {
  await page.fill("#credential", credential);
  await page.click("#sign-in button[type=submit]");
  await page.locator("#signed-in").waitFor({ state: "visible", timeout: 10_000 });
}

async function bid(page: Page, amount: string) {
  await page.fill("#amount", amount);
  await page.click("#bid-form button[type=submit]");
}

test("the page's CSP allows its own inline script and style by hash and nothing else", async () => {
  const { item_id } = await createItem(shop.url, {}, asAdmin);
  const res = await fetch(`${shop.url}/auctions/${item_id}`);
  expect(res.status).toBe(200);
  const csp = res.headers.get("content-security-policy") ?? "";
  expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'(;|$)/);
  expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/]+=*'(;|$)/);
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("connect-src 'self'");
  expect(csp).toContain("form-action 'none'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toMatch(/https?:|unsafe-/);
  expect(await res.text()).not.toMatch(/<script src=/);
});

test("without a credential the page shows the feed and says to sign in; with a key it bids, sending it as X-API-Key only on bids", async () => {
  const { item_id } = await createItem(
    shop.url,
    { name: "Brass lamp", start_price: 10, min_increment: 0.5 },
    asAdmin,
  );
  const { page, refused, requests } = await openPage(item_id);
  expect(await page.locator("#name").textContent()).toBe("Brass lamp");
  expect(await page.locator("#countdown").textContent()).toMatch(/^\d\d:\d\d:\d\d$|^\d+d /);

  const res = await post(
    `${shop.url}/api/v1/items/${item_id}/bid`,
    { user_id: "ann", amount: 12.34 },
    asBidder,
  );
  expect(res.status).toBe(201);
  await page.locator("#price", { hasText: "12.34" }).waitFor({ timeout: 10_000 });
  expect(await page.locator("#bidder").textContent()).toBe("ann");
  expect(await page.locator("#feed li").first().textContent()).toContain("12.34");

  // Not signed in: the bid is refused with 401 and the page says so.
  await page.fill("#user", "bob");
  await bid(page, "13");
  await page.locator("#error", { hasText: "sign in to bid" }).waitFor({ timeout: 10_000 });
  expect(await page.locator("#error").textContent()).toBe("sign in to bid");
  expect(await page.locator("#ok").textContent()).toBe("");

  // An unknown key: still 401, named as a refused credential.
  await signIn(page, "not-a-key-0123456789abcdef");
  await bid(page, "13");
  await page.locator("#error", { hasText: "this credential was refused" }).waitFor({ timeout: 10_000 });
  await page.click("#sign-out");

  await signIn(page, BIDDER);
  expect(await page.locator("#who").textContent()).toBe("Signed in with an API key");
  expect(await page.locator("#credential").inputValue()).toBe("");
  await bid(page, "12.5");
  await page.locator("#error", { hasText: "at least 12.84" }).waitFor({ timeout: 10_000 });
  expect(await page.locator("#error").textContent()).toContain("(minimum next bid 12.84)");

  await bid(page, "13");
  await page.locator("#ok", { hasText: "13.00" }).waitFor({ timeout: 10_000 });
  await page.locator("#price", { hasText: "13.00" }).waitFor({ timeout: 10_000 });
  expect(await page.locator("#error").textContent()).toBe("");
  expect(await page.locator("#feed li").count()).toBe(2);
  expect(await page.locator("#bidder").textContent()).toBe("bob");

  // The key is in this tab's sessionStorage and travels only as a header on bids: no URL, cookie or localStorage.
  expect(await page.evaluate(() => sessionStorage.getItem("auction-credential"))).toBe(BIDDER);
  expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain(BIDDER);
  expect(await browser.cookies()).toEqual([]);
  const sent = await Promise.all(
    requests.map(async (r) => ({ url: r.url(), headers: await r.allHeaders() })),
  );
  const bids = sent.filter((r) => r.url.endsWith(`/api/v1/items/${item_id}/bid`));
  expect(bids.map((r) => r.headers["x-api-key"])).toEqual([
    undefined,
    "not-a-key-0123456789abcdef",
    BIDDER,
    BIDDER,
  ]);
  expect(bids.map((r) => r.headers.authorization)).toEqual([undefined, undefined, undefined, undefined]);
  for (const r of sent) expect(r.url).not.toContain(BIDDER);
  const reads = sent.filter((r) => !bids.includes(r));
  expect(reads.length).toBeGreaterThan(0);
  expect(reads.filter((r) => r.headers["x-api-key"] ?? r.headers.authorization)).toEqual([]);
  expect(refused).toEqual([]);

  // Another tab starts signed out: the credential does not outlive the tab.
  const other = await openPage(item_id);
  expect(await other.page.locator("#sign-in").isVisible()).toBe(true);
  expect(await other.page.evaluate(() => sessionStorage.getItem("auction-credential"))).toBeNull();
}, 60_000);
test("extension, close and outcome, reserve, leading and outbid for the viewer; a reconnect resumes after the last event", async () => {
  // Time to open the page and sign in before the bid that extends the end.
  const ends = Date.now() + 6000;
  const { item_id } = await createItem(
    shop.url,
    {
      name: "Clock",
      start_price: 10,
      min_increment: 1,
      reserve_price: 30,
      ends_at: new Date(ends).toISOString(),
      extend_window_s: 3,
      max_end_at: new Date(ends + 2000).toISOString(),
    },
    asAdmin,
  );
  const { page, refused } = await openPage(item_id);
  expect(await page.locator("#reserve").textContent()).toBe("reserve not met");
  await signIn(page, BIDDER);

  // The viewer bids with a hidden maximum: they lead, and the price stays at their amount.
  await page.fill("#user", "17");
  await page.fill("#max", "25");
  await bid(page, "10");
  await page.locator("#you", { hasText: "You are the highest bidder" }).waitFor({ timeout: 10_000 });
  expect(await page.locator("#price").textContent()).toBe("10.00");

  // Someone else outbids the maximum (and meets the reserve), inside the last 3 s: the end moves.
  const before = await page.locator("#ends-at").getAttribute("data-ends-at");
  const wait = ends - 2500 - Date.now();
  if (wait > 0) await Bun.sleep(wait);
  const res = await post(`${shop.url}/api/v1/items/${item_id}/bid`, { user_id: "18", amount: 31 }, asBidder);
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
  expect(
    (await post(`${shop.url}/api/v1/items/${item_id}/bid`, { user_id: "19", amount: 32 }, asBidder)).status,
  ).toBe(201);
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
  expect(refused).toEqual([]);
}, 60_000);

test("a token signs the viewer in as its subject; another user id or a credential without the bids scope cannot bid", async () => {
  const { item_id } = await createItem(shop.url, { name: "Vase", start_price: 5, min_increment: 1 }, asAdmin);
  const { page, refused, requests } = await openPage(item_id);
  await page.fill("#user", "somebody");
  const token = await idp.sign(claims("42", "bids"));
  await signIn(page, `Bearer ${token}`);
  expect(await page.locator("#who").textContent()).toMatch(/^Signed in with a token as 42, expires at /);
  expect(await page.locator("#user").inputValue()).toBe("42");
  await bid(page, "5");
  await page.locator("#ok", { hasText: "5.00" }).waitFor({ timeout: 10_000 });
  await page.locator("#bidder", { hasText: "42" }).waitFor({ timeout: 10_000 });
  await page.locator("#you", { hasText: "You are the highest bidder" }).waitFor({ timeout: 10_000 });
  const sent = await Promise.all(requests.map((r) => r.allHeaders()));
  expect(sent.filter((h) => h.authorization === `Bearer ${token}`).length).toBe(1);

  // The server holds the token to its subject: bidding as someone else is 403, shown as such.
  await page.fill("#user", "43");
  await bid(page, "7");
  await page.locator("#error", { hasText: "this credential cannot bid" }).waitFor({ timeout: 10_000 });
  expect(await page.locator("#error").textContent()).toContain("user_id belongs to another user");

  // A key without the bids scope: 403 naming the scope.
  await page.click("#sign-out");
  await signIn(page, READER);
  await bid(page, "7");
  await page
    .locator("#error", { hasText: "this credential cannot bid: this operation needs the bids scope" })
    .waitFor({
      timeout: 10_000,
    });
  expect(await page.locator("#count").textContent()).toBe("1");
  expect(refused).toEqual([]);
}, 60_000);

test("an unknown item says so", async () => {
  const page = await browser.newPage();
  await page.goto(`${shop.url}/auctions/nope`);
  await page.locator("#name", { hasText: "Auction not found" }).waitFor({ timeout: 10_000 });
});
