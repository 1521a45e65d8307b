/**
 * Property-based tests over every route's input schema (fast-check, inputs generated from the
 * published OpenAPI document, which the routes' zod schemas build): inputs the schema accepts are
 * accepted (whatever the answer, it is not a validation error, and it is a documented status),
 * inputs that break one rule get 400 INVALID_INPUT in the uniform body, nothing is a 5xx, and the
 * process stays up. Runs are bounded so the whole file takes seconds.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  type JsonSchema,
  type OpenApiDocument,
  type Operation,
  operations,
  resolve,
} from "../helpers/contract.ts";
import { eventually, get, metric, post } from "../helpers/http.ts";
import {
  defaultHints,
  type Hints,
  invalidObjectArb,
  orderIdCandidates,
  validArb,
} from "../helpers/schema-arbitrary.ts";
import { startTestShop, type TestShop } from "../helpers/shop.ts";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 25);
/** A fixed seed unless one is given, so a failure reproduces; fast-check prints the seed and path. */
const SEED = Number(process.env.PROPERTY_SEED ?? 1313);

let shop: TestShop;
let doc: OpenApiDocument;
beforeAll(async () => {
  shop = await startTestShop(["all"], { PAYMENT_SIM_MS: "0" });
  doc = (await (await fetch(`${shop.url}/openapi.json`)).json()) as OpenApiDocument;
  // Things that exist, so generated requests reach past "not found" often enough.
  const json = { "content-type": "application/json" };
  for (const id of [1, 2, 3]) {
    const product = {
      product_id: id,
      sku: `P-${id}`,
      manufacturer: "m",
      category_id: 1,
      weight: 1,
      some_other_id: 1,
    };
    await fetch(`${shop.url}/products/${id}/details`, {
      method: "POST",
      headers: json,
      body: JSON.stringify(product),
    });
    await fetch(`${shop.url}/warehouse/stock/${id}`, {
      method: "PUT",
      headers: json,
      body: '{"quantity":1000000,"price":1.5}',
    });
  }
  await fetch(`${shop.url}/shopping-carts`, { method: "POST", headers: json, body: '{"customer_id":1}' });
  await fetch(`${shop.url}/api/v1/items`, {
    method: "POST",
    headers: json,
    body: JSON.stringify({
      item_id: "prop-item",
      name: "Lamp",
      start_price: 1,
      ends_at: "2099-01-01T00:00:00Z",
    }),
  });
});
afterAll(() => shop.stop());

/** Ids of the things above, mixed with arbitrary ones. */
const knownOr = (known: fc.Arbitrary<unknown>, other: fc.Arbitrary<unknown>) => fc.oneof(known, other);
function hintsFor(): Hints {
  const int = fc.integer({ min: 1, max: 2_147_483_647 });
  return {
    invalid: defaultHints.invalid,
    valid: {
      ...defaultHints.valid,
      productId: knownOr(fc.constantFrom(1, 2, 3), int),
      product_id: knownOr(fc.constantFrom(1, 2, 3), int),
      shoppingCartId: knownOr(fc.constant(1), int),
      shopping_cart_id: knownOr(fc.constant(1), int),
      itemId: knownOr(fc.constant("prop-item"), fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/)),
      "idempotency-key": fc.stringMatching(/^[A-Za-z0-9-]{1,40}$/),
      // Within every quantity's bound (orders: 10000), and far below int32, so repeated adds to one
      // cart stay valid (past int32 a cart refuses the add).
      quantity: fc.integer({ min: 1, max: 10_000 }),
    },
  };
}

interface Input {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  headers: Record<string, string>;
  body: unknown;
}

const pathParams = (op: Operation) => (op.parameters ?? []).filter((p) => p.in === "path");
const queryParams = (op: Operation) => (op.parameters ?? []).filter((p) => p.in === "query");
const headerParams = (op: Operation) => (op.parameters ?? []).filter((p) => p.in === "header");
const bodySchema = (op: Operation) => op.requestBody?.content?.["application/json"]?.schema;

function validInput(op: Operation, hints: Hints): fc.Arbitrary<Input> {
  const params = fc.record(
    Object.fromEntries(pathParams(op).map((p) => [p.name, validArb(doc, p.schema, hints, p.name)])),
  );
  const query = fc.record(
    Object.fromEntries(queryParams(op).map((p) => [p.name, validArb(doc, p.schema, hints, p.name)])),
    { requiredKeys: queryParams(op).flatMap((p) => (p.required ? [p.name] : [])) },
  );
  const headers = fc.record(
    Object.fromEntries(headerParams(op).map((p) => [p.name, validArb(doc, p.schema, hints, p.name)])),
    { requiredKeys: [] },
  ) as fc.Arbitrary<Record<string, string>>;
  const schema = bodySchema(op);
  const body = schema ? validArb(doc, schema, hints) : fc.constant(undefined);
  return fc.record({ params, query, headers, body });
}

/**
 * A path or query parameter that breaks its schema, already URL-encoded. A path id is canonical (no
 * leading zeros: "01" would name another resource); a query number is read as a number.
 */
function invalidParam(schema: JsonSchema | undefined, where: "path" | "query"): fc.Arbitrary<string> {
  const s = resolve(doc, schema);
  if (s?.type === "integer") {
    const min = Number(s.minimum ?? 1);
    const max = Number(s.maximum ?? 2_147_483_647);
    return fc.constantFrom(
      String(min - 1),
      String(max + 1),
      "abc",
      "1e3",
      "1.5",
      ...(where === "path" ? ["01"] : []),
    );
  }
  if (Array.isArray(s?.enum)) return fc.constantFrom("not-one-of-them", "%20");
  const [max, re] = [Number(s?.maxLength ?? 64), new RegExp(String(s?.pattern ?? ""), "u")];
  const breaks = (encoded: string) => {
    const v = decodeURIComponent(encoded);
    return v.length > max || v.length < Number(s?.minLength ?? 0) || !re.test(v);
  };
  return fc.constantFrom(...["bad%21id", "%20", "%00", "a%0Ab", "%7F", "x".repeat(max + 1)].filter(breaks));
}

/**
 * A valid input with exactly one rule broken: one path or query parameter, the idempotency key, or
 * the body; undefined for an operation that takes no input at all.
 */
function invalidInput(op: Operation, hints: Hints): fc.Arbitrary<Input> | undefined {
  const valid = validInput(op, hints);
  const ways: fc.Arbitrary<Input>[] = pathParams(op).map((p) =>
    fc
      .tuple(valid, invalidParam(p.schema, "path"))
      .map(([v, bad]) => ({ ...v, params: { ...v.params, [p.name]: bad } })),
  );
  for (const q of queryParams(op)) {
    ways.push(
      fc
        .tuple(valid, invalidParam(q.schema, "query"))
        .map(([v, bad]) => ({ ...v, query: { ...v.query, [q.name]: bad } })),
    );
  }
  for (const h of headerParams(op)) {
    ways.push(valid.map((v) => ({ ...v, headers: { ...v.headers, [h.name]: "k".repeat(256) } })));
  }
  const schema = bodySchema(op);
  if (schema) {
    ways.push(fc.tuple(valid, invalidObjectArb(doc, schema, hints)).map(([v, body]) => ({ ...v, body })));
    ways.push(valid.map((v) => ({ ...v, body: "{not json" })));
  }
  return ways.length > 0 ? fc.oneof(...ways) : undefined;
}

async function send(path: string, method: string, op: Operation, input: Input, valid: boolean) {
  let url = path;
  for (const [k, v] of Object.entries(input.params)) {
    url = url.replace(`{${k}}`, String(v));
  }
  const query = Object.entries(input.query).map(([k, v]) => `${k}=${String(v)}`);
  if (query.length > 0) url += `?${query.join("&")}`;
  // Rules beyond the schema: the product in the body is the one in the path (the contract's own).
  let body = input.body;
  if (valid && op.operationId === "addProductDetails") {
    body = { ...(body as Record<string, unknown>), product_id: input.params.productId };
  }
  // And the bid's: a proxy maximum is at least the bid.
  const bid = body as { amount?: number; max_amount?: number } | undefined;
  if (valid && typeof bid?.amount === "number" && typeof bid.max_amount === "number") {
    body = { ...bid, max_amount: Math.max(bid.amount, bid.max_amount) };
  }
  const res = await fetch(`${shop.url}${url}`, {
    method: method.toUpperCase(),
    headers: body === undefined ? input.headers : { "content-type": "application/json", ...input.headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, documented: Object.keys(op.responses).includes(String(res.status)) };
}

function uniform(text: string): { error: unknown; message: unknown } {
  const body = JSON.parse(text) as { error: unknown; message: unknown };
  expect(typeof body.error).toBe("string");
  expect(typeof body.message).toBe("string");
  return body;
}

/** Valid path values are text: encoded for the URL (invalid ones are generated encoded, as sent). */
const encodeValid = (input: Input): Input => ({
  ...input,
  params: encodeAll(input.params),
  query: encodeAll(input.query),
});
const encodeAll = (values: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? encodeURIComponent(v) : v]),
  );

describe("every route's input schema", () => {
  test("the document has the routes to test", () => {
    expect(operations(doc).length).toBeGreaterThanOrEqual(15);
  });

  test.each(["valid", "invalid"] as const)("%s inputs, every route", async (kind) => {
    const hints = hintsFor();
    for (const [path, method, op] of operations(doc)) {
      const answered = new Set<number>();
      const arb = kind === "valid" ? validInput(op, hints).map(encodeValid) : invalidInput(op, hints);
      if (!arb) continue;
      await fc.assert(
        fc.asyncProperty(arb, async (input) => {
          const r = await send(path, method, op, input, kind === "valid");
          answered.add(r.status);
          const where = `${method.toUpperCase()} ${path} → ${r.status} ${r.text.slice(0, 200)}`;
          expect({ where, fiveXX: r.status >= 500 }).toEqual({ where, fiveXX: false });
          expect({ where, documented: r.documented }).toEqual({ where, documented: true });
          if (kind === "valid") {
            if (r.status >= 400)
              expect({ where, error: uniform(r.text).error }).not.toEqual({ where, error: "INVALID_INPUT" });
          } else {
            expect({ where, status: r.status, error: uniform(r.text).error }).toEqual({
              where,
              status: 400,
              error: "INVALID_INPUT",
            });
          }
        }),
        { numRuns: RUNS, seed: SEED },
      );
      // Valid inputs got past validation somewhere: not every answer was a business-rule 400.
      if (kind === "valid")
        expect({ op: op.operationId, past400: [...answered].some((s) => s !== 400) }).toEqual({
          op: op.operationId,
          past400: true,
        });
    }
  });

  // One id rule for the api and the processor: an order the api accepted never dies as a malformed message,
  // and GET /orders/{order_id} finds it by the id it was accepted under.
  test("every order_id POST /orders/async accepts, the processor finishes; the others are 400", async () => {
    const malformed = () => metric(shop.url, "processor_malformed_messages_total");
    const before = await malformed();
    const taken = new Set<string>();
    await fc.assert(
      fc.asyncProperty(orderIdCandidates, async (id) => {
        const r = await post(`${shop.url}/orders/async`, {
          order_id: id,
          customer_id: 1,
          items: [{ product_id: 1, quantity: 1, price: 1 }],
        });
        // 409: a case above chose the same id for another order; the api took the id in either way.
        if (r.status === 202 || r.status === 409) taken.add(id);
        else
          expect({ id, status: r.status, error: uniform(JSON.stringify(r.body)).error }).toEqual({
            id,
            status: 400,
            error: "INVALID_INPUT",
          });
      }),
      { numRuns: RUNS, seed: SEED },
    );
    expect(taken.size).toBeGreaterThan(0);
    for (const id of taken) {
      await eventually(
        async () => {
          const { status } = (await get(`${shop.url}/orders/${encodeURIComponent(id)}`)).body as {
            status: string;
          };
          return status === "completed" || status === "failed" ? status : undefined;
        },
        10_000,
        `order ${JSON.stringify(id)} finished`,
      );
    }
    expect(await malformed()).toBe(before);
  });

  test("the process is still up and counted no 5xx", async () => {
    expect((await fetch(`${shop.url}/health`)).status).toBe(200);
    const text = await (await fetch(`${shop.url}/metrics`)).text();
    expect(
      text.split("\n").filter((l) => l.startsWith("http_requests_total") && /status="5/.test(l)),
    ).toEqual([]);
  });
});
