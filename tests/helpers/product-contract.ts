/**
 * The product API contract (Foundation issue, api.yaml) as a reusable suite, so the same checks run
 * against every store configuration: memory, DynamoDB, DynamoDB + Redis. `base()` is read when each
 * test runs, after the caller's beforeAll has started the server.
 */
import { expect, test } from "bun:test";
import { demoProduct } from "../../src/domain/products.ts";

/** Product ids unique to this process, so suites sharing a store never see each other's products. */
let nextId = 1_000_000 + (process.pid % 1000) * 10_000 + Math.floor(Math.random() * 5_000);
export const uniqueProductId = () => nextId++;

const post = (base: string, id: number | string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}/products/${id}/details`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

async function errorBody(res: Response, status: number, code: string): Promise<{ details?: unknown }> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: string; message: string; details?: unknown };
  expect(body.error).toBe(code);
  expect(typeof body.message).toBe("string");
  return body;
}

export function productContractTests(base: () => string, bodyLimitBytes = 65536): void {
  test("contract: a stored product reads back exactly, and a second POST replaces it", async () => {
    const id = uniqueProductId();
    const product = demoProduct(id);
    const created = await post(base(), id, product);
    expect(created.status).toBe(204);
    expect(await created.text()).toBe("");
    const read = await fetch(`${base()}/products/${id}`);
    expect(read.status).toBe(200);
    expect(read.headers.get("content-type")).toContain("application/json");
    expect(await read.json()).toEqual(product);
    const replaced = { ...product, sku: "REPLACED-1", weight: 0 };
    expect((await post(base(), id, replaced)).status).toBe(204);
    expect(await (await fetch(`${base()}/products/${id}`)).json()).toEqual(replaced);
  });

  test("contract: an unknown product is 404 NOT_FOUND", async () => {
    await errorBody(await fetch(`${base()}/products/${uniqueProductId()}`), 404, "NOT_FOUND");
  });

  test.each(["0", "-1", "abc", "12abc", "1.5", "1e3", "2147483648"])(
    "contract: GET /products/%s is 400 INVALID_INPUT",
    async (id) => {
      const body = await errorBody(await fetch(`${base()}/products/${id}`), 400, "INVALID_INPUT");
      expect(String(body.details)).toContain("productId");
    },
  );

  const bad: [string, (p: Record<string, unknown>) => unknown, string][] = [
    ["missing sku", ({ sku: _, ...rest }) => rest, "sku"],
    ["string product_id", (p) => ({ ...p, product_id: String(p.product_id) }), "product_id"],
    ["empty sku", (p) => ({ ...p, sku: "" }), "sku"],
    ["sku of 101 chars", (p) => ({ ...p, sku: "x".repeat(101) }), "sku"],
    ["manufacturer of 201 chars", (p) => ({ ...p, manufacturer: "m".repeat(201) }), "manufacturer"],
    ["category_id 0", (p) => ({ ...p, category_id: 0 }), "category_id"],
    ["some_other_id above int32", (p) => ({ ...p, some_other_id: 2147483648 }), "some_other_id"],
    ["negative weight", (p) => ({ ...p, weight: -1 }), "weight"],
    ["fractional weight", (p) => ({ ...p, weight: 1.5 }), "weight"],
    [
      "product_id differing from the path",
      (p) => ({ ...p, product_id: Number(p.product_id) + 1 }),
      "product_id",
    ],
  ];
  test.each(bad)("contract: POST with %s is 400 naming the field", async (_name, mutate, field) => {
    const id = uniqueProductId();
    const res = await post(base(), id, mutate(demoProduct(id)));
    const body = await errorBody(res, 400, "INVALID_INPUT");
    expect(String(body.details)).toContain(field);
    expect((await fetch(`${base()}/products/${id}`)).status).toBe(404);
  });

  test("contract: malformed JSON is 400, another content type 415, an oversized body 413", async () => {
    const id = uniqueProductId();
    await errorBody(await post(base(), id, "{not json"), 400, "INVALID_INPUT");
    await errorBody(
      await post(base(), id, JSON.stringify(demoProduct(id)), { "content-type": "text/plain" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    const huge = { ...demoProduct(id), sku: "x".repeat(bodyLimitBytes + 10) };
    await errorBody(await post(base(), id, huge), 413, "PAYLOAD_TOO_LARGE");
    expect((await fetch(`${base()}/products/${id}`)).status).toBe(404);
  });
}
