/**
 * The product API contract (../shared/reference/api.yaml and the Foundation issue) as a reusable
 * suite: any store configuration must pass it unchanged.
 */
import { describe, expect, test } from "bun:test";

export const sample = (id: number, over: Record<string, unknown> = {}) => ({
  product_id: id,
  sku: `SKU-${id}`,
  manufacturer: "Acme Corporation",
  category_id: 456,
  weight: 1250,
  some_other_id: 789,
  ...over,
});

const post = (base: string, id: number | string, body: unknown, type = "application/json") =>
  fetch(`${base}/products/${id}/details`, {
    method: "POST",
    headers: { "content-type": type },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

async function expectError(res: Response, status: number, code: string): Promise<Record<string, unknown>> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/json");
  const body = (await res.json()) as Record<string, unknown>;
  expect(body.error).toBe(code);
  expect(typeof body.message).toBe("string");
  return body;
}

/** Registers the contract tests; `base()` is read lazily because servers start in beforeAll. */
export function productContract(name: string, base: () => string, bodyLimit = 65536): void {
  describe(`product contract (${name})`, () => {
    test("POST details then GET returns exactly the product", async () => {
      const id = 1000 + Math.floor(Math.random() * 1_000_000);
      const res = await post(base(), id, sample(id));
      expect(res.status).toBe(204);
      expect(await res.text()).toBe("");
      const got = await fetch(`${base()}/products/${id}`);
      expect(got.status).toBe(200);
      expect(await got.json()).toEqual(sample(id));
    });

    test("POST replaces an existing product", async () => {
      const id = 2_000_000 + Math.floor(Math.random() * 1_000_000);
      expect((await post(base(), id, sample(id))).status).toBe(204);
      expect((await post(base(), id, sample(id, { sku: "NEW", weight: 0 }))).status).toBe(204);
      expect(await (await fetch(`${base()}/products/${id}`)).json()).toEqual(
        sample(id, { sku: "NEW", weight: 0 }),
      );
    });

    test("GET an unknown product is 404 NOT_FOUND", async () => {
      await expectError(await fetch(`${base()}/products/2147483647`), 404, "NOT_FOUND");
    });

    test.each(["0", "-1", "abc", "12abc", "1.5", "1e3", "2147483648", "01", "+1", "%20"])(
      "GET /products/%s is 400 INVALID_INPUT",
      async (id) => {
        const body = await expectError(await fetch(`${base()}/products/${id}`), 400, "INVALID_INPUT");
        expect(String(body.details)).toContain("productId");
      },
    );

    test("the largest int32 id is accepted", async () => {
      const max = 2147483647;
      expect((await post(base(), max, sample(max))).status).toBe(204);
      expect((await fetch(`${base()}/products/${max}`)).status).toBe(200);
    });

    const invalid: [string, unknown, string][] = [
      ["a missing field", (({ sku: _, ...rest }) => rest)(sample(7)), "sku"],
      ["a string where an integer is expected", sample(7, { category_id: "456" }), "category_id"],
      ["a fractional integer field", sample(7, { weight: 1.5 }), "weight"],
      ["an empty sku", sample(7, { sku: "" }), "sku"],
      ["a sku over 100 characters", sample(7, { sku: "x".repeat(101) }), "sku"],
      ["a manufacturer over 200 characters", sample(7, { manufacturer: "m".repeat(201) }), "manufacturer"],
      ["a negative weight", sample(7, { weight: -1 }), "weight"],
      ["a weight over int32", sample(7, { weight: 2147483648 }), "weight"],
      ["category_id 0", sample(7, { category_id: 0 }), "category_id"],
      ["some_other_id over int32", sample(7, { some_other_id: 2147483648 }), "some_other_id"],
      ["a null field", sample(7, { manufacturer: null }), "manufacturer"],
      ["product_id differing from the path", sample(8), "product_id"],
      ["an array body", [sample(7)], "(body)"],
    ];
    test.each(invalid)("POST with %s is 400 naming the field", async (_, body, field) => {
      const res = await post(base(), 7, body);
      const err = await expectError(res, 400, "INVALID_INPUT");
      expect(String(err.details)).toContain(field);
      expect((await fetch(`${base()}/products/7`)).status).toBe(404);
    });

    test("malformed JSON is 400", async () => {
      await expectError(await post(base(), 7, '{"product_id": 7,'), 400, "INVALID_INPUT");
    });

    test("an invalid path id on POST is 400", async () => {
      await expectError(await post(base(), "abc", sample(1)), 400, "INVALID_INPUT");
    });

    test("a non-JSON content type is 415", async () => {
      await expectError(
        await post(base(), 7, JSON.stringify(sample(7)), "text/plain"),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
      );
    });

    test("a body over the limit is 413", async () => {
      const big = sample(7, { manufacturer: "m".repeat(bodyLimit) });
      await expectError(await post(base(), 7, big), 413, "PAYLOAD_TOO_LARGE");
    });
  });
}
