/**
 * Issue 19: API keys, JWT bearer tokens from an identity provider inside the test (tests/helpers/jwks.ts),
 * scopes per operation, identity from the token, the public auction surface, and what /openapi.json says.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { demoProduct } from "../../src/domain/products.ts";
import { metric } from "../helpers/http.ts";
import { AUDIENCE, claims, hs256, type Idp, ISSUER, rawToken, startIdp } from "../helpers/jwks.ts";
import { startTestShop, type TestShop } from "../helpers/shop.ts";

const ADMIN = "admin-token-0123456789abcdef";
const BACKEND = "backend-key-0123456789abcdef";
const READER = "reader-key-0123456789abcdef";
const HASHED = "hashed-key-0123456789abcdef";
const BACKEND_SCOPES = ["catalog:read", "catalog:write", "carts", "warehouse", "payments", "orders", "bids"];

export const apiKeys = JSON.stringify([
  { name: "backend", key: BACKEND, scopes: BACKEND_SCOPES },
  { name: "reader", key: READER, scopes: ["catalog:read"] },
  { name: "hashed", key_sha256: createHash("sha256").update(HASHED).digest("hex"), scopes: ["catalog:read"] },
]);

let idp: Idp;
let shop: TestShop;
let url: string;

beforeAll(async () => {
  idp = await startIdp();
  shop = await startTestShop(["all"], {
    AUTH_DISABLED: "false",
    API_KEYS: apiKeys,
    ADMIN_TOKEN: ADMIN,
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    JWT_JWKS_URL: idp.jwksUrl,
    JWT_CLOCK_SKEW_S: "5",
    PAYMENT_SIM_MS: "0",
    LOG_LEVEL: "info",
    LOG_SAMPLE_RATE: "1",
  });
  url = shop.url;
  const put = await call("POST", "/products/1/details", { key: BACKEND, body: demoProduct(1) });
  expect(put.status).toBe(204);
  const stock = await call("PUT", "/warehouse/stock/1", { key: ADMIN, body: { quantity: 100, price: 2.5 } });
  expect(stock.status).toBe(204);
});
afterAll(async () => {
  await shop?.stop();
  idp?.stop();
});

interface Call {
  status: number;
  body: { error?: string; message?: string; [k: string]: unknown };
  headers: Headers;
}

async function call(
  method: string,
  path: string,
  opts: { key?: string; token?: string; body?: unknown } = {},
): Promise<Call> {
  const headers: Record<string, string> = {};
  if (opts.key) headers["x-api-key"] = opts.key;
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${url}${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
}

const getProduct = (opts: { key?: string; token?: string }) => call("GET", "/products/1", opts);

describe("API keys", () => {
  test("no credential: 401 UNAUTHORIZED with WWW-Authenticate naming both schemes", async () => {
    const r = await getProduct({});
    expect(r.status).toBe(401);
    expect(r.body.error).toBe("UNAUTHORIZED");
    expect(typeof r.body.message).toBe("string");
    expect(r.headers.get("www-authenticate")).toContain("Bearer");
    expect(r.headers.get("www-authenticate")).toContain("ApiKey");
  });

  test("an unknown key is 401; a valid key with the scope is 200, in plain or hashed form", async () => {
    expect((await getProduct({ key: `${READER}x` })).status).toBe(401);
    expect((await getProduct({ key: READER })).status).toBe(200);
    expect((await getProduct({ key: HASHED })).status).toBe(200);
  });

  test("a valid key without the operation's scope is 403 FORBIDDEN naming the scope", async () => {
    const r = await call("POST", "/products/2/details", { key: READER, body: demoProduct(2) });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ error: "FORBIDDEN", details: "scope: catalog:write" });
    expect(r.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
  });

  test("ADMIN_TOKEN is a key with every scope, as X-API-Key or bearer; other keys lack admin scopes", async () => {
    expect((await call("GET", "/admin/faults", { key: ADMIN })).status).toBe(200);
    expect((await call("GET", "/admin/faults", { token: ADMIN })).status).toBe(200);
    expect((await getProduct({ token: ADMIN })).status).toBe(200);
    expect((await call("GET", "/admin/faults", { key: BACKEND })).status).toBe(403);
    expect(
      (await call("PUT", "/warehouse/stock/1", { key: BACKEND, body: { quantity: 100, price: 2.5 } })).status,
    ).toBe(403);
  });

  test("the request log and metrics name the key, never the key itself", async () => {
    const before = await metric(url, "auth_requests_total", 'credential="reader",result="ok"');
    expect((await getProduct({ key: READER })).status).toBe(200);
    expect(await metric(url, "auth_requests_total", 'credential="reader",result="ok"')).toBe(before + 1);
    // The logger writes in batches, on a short timer.
    const deadline = Date.now() + 5000;
    while (!shop.logs.join("").includes('"credential":"reader"') && Date.now() < deadline)
      await Bun.sleep(20);
    const lines = shop.logs
      .join("")
      .split("\n")
      .filter((l) => l.includes('"credential":"reader"'));
    expect(lines.length).toBeGreaterThan(0);
    for (const secret of [READER, BACKEND, ADMIN, HASHED]) expect(shop.logs.join("")).not.toContain(secret);
  });
});

describe("JWT bearer tokens", () => {
  const read = (sub = "7") => claims(sub, "catalog:read");

  test.each(["RS256", "ES256", "EdDSA"] as const)("a valid %s token is accepted", async (alg) => {
    expect((await getProduct({ token: await idp.sign(read(), { alg }) })).status).toBe(200);
  });

  test("scopes from scp, as a list, are honoured", async () => {
    const token = await idp.sign({ ...claims("7", ""), scope: undefined, scp: ["catalog:read"] });
    expect((await getProduct({ token })).status).toBe(200);
  });

  const now = () => Math.floor(Date.now() / 1000);
  test.each([
    ["expired", { exp: now() - 60 }],
    ["not valid yet (nbf in the future beyond the skew)", { nbf: now() + 120 }],
    ["for another audience", { aud: "another-api" }],
    ["from another issuer", { iss: "https://evil.test/" }],
    ["without a subject", { sub: undefined }],
  ])("a token %s is 401 invalid_token", async (_case, extra) => {
    const r = await getProduct({ token: await idp.sign({ ...read(), ...extra }) });
    expect(r.status).toBe(401);
    expect(r.body.error).toBe("UNAUTHORIZED");
    expect(r.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  test("alg none is refused", async () => {
    const token = rawToken({ alg: "none", kid: "rsa-1" }, read(), () => "");
    expect((await getProduct({ token })).status).toBe(401);
  });

  test("HS256 signed with the RSA public key (algorithm confusion) is refused", async () => {
    const token = rawToken({ alg: "HS256", kid: "rsa-1" }, read(), hs256(JSON.stringify(idp.rsaPublic())));
    const r = await getProduct({ token });
    expect(r.status).toBe(401);
  });

  test("a tampered payload or signature is refused", async () => {
    const token = await idp.sign(read());
    const [h, p, s] = token.split(".") as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...read("8"), scope: "admin" })).toString("base64url");
    expect((await getProduct({ token: `${h}.${forged}.${s}` })).status).toBe(401);
    const flipped = `${s.slice(0, -2)}${s.at(-2) === "A" ? "B" : "A"}${s.at(-1)}`;
    expect((await getProduct({ token: `${h}.${p}.${flipped}` })).status).toBe(401);
  });

  test("a key published later is picked up by the refetch on its unknown kid", async () => {
    const rotated = await idp.newKey("ES256", "rotated-1");
    idp.publish(rotated);
    const token = await idp.sign(read(), { key: rotated });
    // The cooldown (30 s) may still run from an earlier fetch: the key is accepted once it has passed.
    const deadline = Date.now() + 45_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await getProduct({ token })).status;
      if (status === 200) break;
      await Bun.sleep(1000);
    }
    expect(status).toBe(200);
  }, 60_000);

  test("right after that refetch, unknown kids are 401 without refetching (at most one per 30 s)", async () => {
    const before = idp.fetches();
    for (const kid of ["unknown-1", "unknown-2", "unknown-3"]) {
      const stranger = await idp.newKey("RS256", kid);
      const r = await getProduct({ token: await idp.sign(read(), { key: stranger }) });
      expect(r.status).toBe(401);
      expect(r.body.message).toContain("no signing key");
    }
    expect(idp.fetches()).toBe(before);
  });

  test("a token seen before is not verified again (cached by its hash until exp)", async () => {
    const token = await idp.sign(read());
    expect((await getProduct({ token })).status).toBe(200);
    const verified = await metric(url, "auth_jwt_verifications_total");
    for (let i = 0; i < 5; i++) expect((await getProduct({ token })).status).toBe(200);
    expect(await metric(url, "auth_jwt_verifications_total")).toBe(verified);
  });

  test("a valid token without the scope is 403", async () => {
    const token = await idp.sign(claims("7", "carts"));
    const r = await getProduct({ token });
    expect(r.status).toBe(403);
    expect(r.body.error).toBe("FORBIDDEN");
  });
});

describe("identity: a user's token acts only for that user", () => {
  const user = (sub: string) => idp.sign(claims(sub, "carts payments orders bids"));

  test("carts: the token's subject is the customer; another's cart is 403 to read, fill, pay or check out", async () => {
    const seven = await user("7");
    expect((await call("POST", "/shopping-carts", { token: seven, body: { customer_id: 8 } })).status).toBe(
      403,
    );
    const own = await call("POST", "/shopping-carts", { token: seven, body: { customer_id: 7 } });
    expect(own.status).toBe(201);
    const ownId = own.body.shopping_cart_id as number;
    expect((await call("GET", `/shopping-carts/${ownId}`, { token: seven })).status).toBe(200);

    // A backend's key acts for any customer.
    const theirs = await call("POST", "/shopping-carts", { key: BACKEND, body: { customer_id: 8 } });
    expect(theirs.status).toBe(201);
    const id = theirs.body.shopping_cart_id as number;
    const item = { product_id: 1, quantity: 1 };
    expect((await call("POST", `/shopping-carts/${id}/items`, { key: BACKEND, body: item })).status).toBe(
      204,
    );

    const read = await call("GET", `/shopping-carts/${id}`, { token: seven });
    expect(read.status).toBe(403);
    expect(read.body.error).toBe("FORBIDDEN");
    expect((await call("POST", `/shopping-carts/${id}/items`, { token: seven, body: item })).status).toBe(
      403,
    );
    expect((await call("POST", `/shopping-carts/${id}/checkout`, { token: seven })).status).toBe(403);
    const pay = { credit_card_number: "4111111111111111", shopping_cart_id: id };
    expect((await call("POST", "/payments/checkout", { token: seven, body: pay })).status).toBe(403);
    // The owner may.
    expect((await call("GET", `/shopping-carts/${id}`, { token: await user("8") })).status).toBe(200);
  });

  test("orders: placing for another customer is 403, and so is reading another's order", async () => {
    const order = (customer_id: number, order_id: string) => ({
      order_id,
      customer_id,
      items: [{ product_id: 1, quantity: 1, price: 2.5 }],
    });
    const seven = await user("7");
    expect((await call("POST", "/orders/sync", { token: seven, body: order(8, "sec-o-1") })).status).toBe(
      403,
    );
    expect((await call("POST", "/orders/sync", { token: seven, body: order(7, "sec-o-2") })).status).toBe(
      200,
    );
    expect((await call("GET", "/orders/sec-o-2", { token: seven })).status).toBe(200);
    expect((await call("GET", "/orders/sec-o-2", { token: await user("8") })).status).toBe(403);
    expect((await call("GET", "/orders/sec-o-2", { key: BACKEND })).status).toBe(200);
  });

  test("bids: the bidder is the token's subject; bidding as another user is 403", async () => {
    const ends_at = new Date(Date.now() + 3_600_000).toISOString();
    const item = { item_id: "sec-lamp", name: "lamp", start_price: 1, ends_at };
    expect((await call("POST", "/api/v1/items", { key: BACKEND, body: item })).status).toBe(403);
    expect((await call("POST", "/api/v1/items", { key: ADMIN, body: item })).status).toBe(201);
    const seven = await user("7");
    const as8 = await call("POST", "/api/v1/items/sec-lamp/bid", {
      token: seven,
      body: { user_id: "8", amount: 1 },
    });
    expect(as8.status).toBe(403);
    const as7 = await call("POST", "/api/v1/items/sec-lamp/bid", {
      token: seven,
      body: { user_id: "7", amount: 1 },
    });
    expect(as7.status).toBe(201);
  });
});

describe("public auction surface and the WebSocket policy", () => {
  test("GET an item, list items and bids, and the live page need no credential", async () => {
    const ends_at = new Date(Date.now() + 3_600_000).toISOString();
    const item = { item_id: "sec-public", name: "vase", start_price: 1, ends_at };
    expect((await call("POST", "/api/v1/items", { token: ADMIN, body: item })).status).toBe(201);
    expect((await call("GET", "/api/v1/items/sec-public")).status).toBe(200);
    expect((await call("GET", "/api/v1/items")).status).toBe(200);
    expect((await call("GET", "/api/v1/items/sec-public/bids")).status).toBe(200);
    expect((await fetch(`${url}/auctions/sec-public`)).status).toBe(200);
    // Writes stay guarded.
    expect(
      (await call("POST", "/api/v1/items/sec-public/bid", { body: { user_id: "7", amount: 2 } })).status,
    ).toBe(401);
  });

  test("the WebSocket feed opens without a credential and carries bids", async () => {
    const ws = new WebSocket(`${url.replace("http", "ws")}/ws/items/sec-public`);
    const frames: string[] = [];
    ws.onmessage = (e) => frames.push(String(e.data));
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("WebSocket refused"));
    });
    const bid = await call("POST", "/api/v1/items/sec-public/bid", {
      key: BACKEND,
      body: { user_id: "9", amount: 5 },
    });
    expect(bid.status).toBe(201);
    const deadline = Date.now() + 10_000;
    while (!frames.some((f) => f.includes('"9"')) && Date.now() < deadline) await Bun.sleep(20);
    ws.close();
    expect(frames.some((f) => f.includes('"9"'))).toBe(true);
  });
});

describe("/openapi.json", () => {
  interface Doc {
    components: { securitySchemes: Record<string, { type: string; name?: string; scheme?: string }> };
    paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
  }
  let doc: Doc;
  beforeAll(async () => {
    doc = (await (await fetch(`${url}/openapi.json`)).json()) as Doc;
  });

  test("declares api.yaml's two schemes", () => {
    expect(doc.components.securitySchemes.ApiKeyAuth).toMatchObject({ type: "apiKey", name: "X-API-Key" });
    expect(doc.components.securitySchemes.BearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
  });

  test("each operation states its requirement: either scheme with the scope, or none when public", () => {
    expect(doc.paths["/products/{productId}"]?.get?.security).toEqual([
      { ApiKeyAuth: ["catalog:read"] },
      { BearerAuth: ["catalog:read"] },
    ]);
    expect(doc.paths["/api/v1/items/{itemId}"]?.get?.security).toEqual([]);
    const missing = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => op.security === undefined)
        .map(([method]) => `${method} ${path}`),
    );
    expect(missing).toEqual([]);
  });
});
