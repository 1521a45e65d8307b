/**
 * /docs renders the API reference with nothing but this server: Chromium runs with every request to any
 * other origin aborted, and the page's Content-Security-Policy allows only its own origin.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { startTestShop, type TestShop } from "../helpers/shop.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const profile = mkdtempSync(join(tmpdir(), "shop-chromium-docs-"));
let shop: TestShop;
let browser: BrowserContext;
const elsewhere: string[] = [];

beforeAll(async () => {
  shop = await startTestShop(["api"], {
    AUTH_DISABLED: "false",
    API_KEYS: JSON.stringify([{ name: "docs", key: "docs-key-0123456789abcdef", scopes: ["catalog:read"] }]),
  });
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--no-first-run",
    ],
  });
  // The network is this server and nothing else.
  await browser.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(shop.url)) return route.continue();
    elsewhere.push(url);
    return route.abort("blockedbyclient");
  });
});
afterAll(async () => {
  await browser?.close();
  await shop?.stop();
  rmSync(profile, { recursive: true, force: true });
});

test("the page, its script and its CSP: only this origin, the bundle cached as immutable", async () => {
  const page = await fetch(`${shop.url}/docs`);
  expect(page.status).toBe(200);
  const csp = page.headers.get("content-security-policy") ?? "";
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("connect-src 'self'");
  expect(csp).not.toMatch(/https?:|unsafe-eval|script-src[^;]*unsafe-inline/);
  const html = await page.text();
  const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1] ?? "");
  expect(scripts.length).toBe(2);
  for (const src of scripts) {
    expect(src.startsWith("/docs/assets/")).toBe(true);
    const asset = await fetch(`${shop.url}${src}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(asset.headers.get("content-type")).toContain("javascript");
    expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(0);
  }
  expect(html).not.toMatch(/<script>(?!<\/script>)/);
});

test("Chromium renders the reference with every other origin blocked, without a CSP violation", async () => {
  const page = await browser.newPage();
  const refused: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
  });
  await page.goto(`${shop.url}/docs`);
  // Operations from /openapi.json, rendered by the embedded bundle.
  await page.getByText("Get product by ID").first().waitFor({ timeout: 30_000 });
  await page.getByText("X-API-Key").first().waitFor({ timeout: 10_000 });
  expect(refused).toEqual([]);
  expect(elsewhere).toEqual([]);
}, 60_000);
