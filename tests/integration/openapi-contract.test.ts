/**
 * /openapi.json is a superset of api.yaml for api.yaml's operations: each operation with its id, every
 * status api.yaml lists, every parameter, request-body and response field with api.yaml's type and
 * constraints — plus whatever shop adds — and a `servers` entry.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  type JsonSchema,
  loadContract,
  type OpenApiDocument,
  operations,
  resolve,
} from "../helpers/contract.ts";
import { startTestShop, type TestShop } from "../helpers/shop.ts";

const contract = await loadContract();
let shop: TestShop;
let ours: OpenApiDocument;
beforeAll(async () => {
  shop = await startTestShop(["all"]);
  ours = (await (await fetch(`${shop.url}/openapi.json`)).json()) as OpenApiDocument;
});
afterAll(() => shop.stop());

const CONSTRAINTS = ["type", "format", "minimum", "maximum", "minLength", "maxLength", "pattern", "enum"];

/**
 * Where api.yaml's schema `theirs` constrains a value, ours constrains it the same way. A field ours
 * leaves untyped accepts anything, api.yaml's type included; an object's fields are compared one by one.
 */
function expectCovers(where: string, theirs: JsonSchema | undefined, mine: JsonSchema | undefined): void {
  const t = resolve(contract, theirs);
  const m = resolve(ours, mine);
  if (!t) return;
  expect({ where, present: m !== undefined }).toEqual({ where, present: true });
  if (!m) return;
  for (const key of CONSTRAINTS) {
    if (t[key] === undefined || (key === "type" && m.type === undefined && !m.properties)) continue;
    // zod writes int32 bounds it implies; api.yaml's minimum must be ours exactly, its type and format too.
    expect({ where, [key]: m[key] }).toEqual({ where, [key]: t[key] });
  }
  for (const field of t.required ?? []) {
    expect({ where, required: m.required?.includes(field) }).toEqual({ where, required: true });
  }
  for (const [name, schema] of Object.entries(t.properties ?? {})) {
    expectCovers(`${where}.${name}`, schema, m.properties?.[name]);
  }
}

test("servers: the document says where its paths are", () => {
  expect(ours.servers?.length).toBeGreaterThan(0);
});

describe.each(operations(contract))("%s %s", (path, method, op) => {
  const mine = () => ours.paths[path]?.[method];

  test("exists with api.yaml's operationId", () => {
    expect(mine()?.operationId).toBe(op.operationId);
  });

  test("lists every status api.yaml lists, with the same response schema", () => {
    const statuses = Object.keys(mine()?.responses ?? {});
    expect(statuses).toEqual(expect.arrayContaining(Object.keys(op.responses)));
    for (const [status, res] of Object.entries(op.responses)) {
      const theirs = res.content?.["application/json"]?.schema;
      expectCovers(`${status}`, theirs, mine()?.responses[status]?.content?.["application/json"]?.schema);
    }
  });

  test("takes api.yaml's parameters and request body", () => {
    for (const p of op.parameters ?? []) {
      const m = mine()?.parameters?.find((q) => q.name === p.name && q.in === p.in);
      expect({ param: p.name, required: m?.required }).toEqual({ param: p.name, required: p.required });
      expectCovers(`param ${p.name}`, p.schema, m?.schema);
    }
    if (op.requestBody) {
      const body = mine()?.requestBody;
      expect(body?.required).toBe(op.requestBody.required);
      expectCovers(
        "body",
        op.requestBody.content?.["application/json"]?.schema,
        body?.content?.["application/json"]?.schema,
      );
    }
  });
});
