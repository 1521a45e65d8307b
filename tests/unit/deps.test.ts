import { describe, expect, test } from "bun:test";
import { TABLES } from "../../src/adapters/dynamodb/tables.ts";
import {
  DEPS,
  describeRoles,
  isRole,
  LAMBDA_ROOTS,
  type ModuleName,
  modulesOf,
  ROLES,
  resourcesOf,
  tableOf,
  USES,
} from "../../src/modules/deps.ts";
import { resolveOrder } from "../../src/modules/graph.ts";
import { ROOT } from "../helpers/shop.ts";

describe("the dependency map", () => {
  test("resolves without cycles or unknown modules for every role", () => {
    for (const role of ROLES) expect(modulesOf(role).length).toBeGreaterThan(0);
  });

  test("all is the union of the other roles", () => {
    const union = new Set(ROLES.filter((r) => r !== "all").flatMap((r) => modulesOf(r)));
    expect(new Set(modulesOf("all"))).toEqual(union);
  });

  test("every module is reachable from some role, or from a role's Lambda modules", () => {
    const reachable = new Set(resolveOrder<ModuleName>(DEPS, ["all", ...Object.values(LAMBDA_ROOTS).flat()]));
    expect(Object.keys(DEPS).filter((m) => !reachable.has(m as ModuleName))).toEqual([]);
  });

  test("worker modules start after the HTTP server and stop before it", () => {
    for (const worker of ["orderProcessor", "liveFeed", "archiveWorker", "auctionCloser"] as const) {
      expect(DEPS[worker]).toContain("server");
    }
  });
});

// What each role needs outside the process. terraform/ derives IAM and environment from resourcesOf,
// so this table is the deployment's contract: change it here only together with the code that uses it.
describe("resourcesOf", () => {
  test.each([
    [
      "api",
      {
        tables: [
          "PRODUCTS_TABLE",
          "ORDERS_TABLE",
          "IDEMPOTENCY_TABLE",
          "CARTS_TABLE",
          "COUNTERS_TABLE",
          "INVENTORY_TABLE",
          "OUTBOX_TABLE",
        ],
        redis: true,
        postgres: false,
        publishOrders: true,
        consumeOrders: false,
        retryOrders: false,
        adminToken: true,
      },
    ],
    [
      "processor",
      {
        // Orders, their stock and their charges; cart orders carry their lines, so never the carts table.
        tables: ["ORDERS_TABLE", "INVENTORY_TABLE", "IDEMPOTENCY_TABLE"],
        redis: false,
        postgres: false,
        publishOrders: false,
        consumeOrders: true,
        retryOrders: false,
        adminToken: false,
      },
    ],
    [
      "bidder",
      {
        // The closer settles wins into orders (the orders and outbox tables, its relay publishing), through
        // the order service, whose gateway module brings the charge ledger's table; the bid history reads PostgreSQL.
        tables: ["ORDERS_TABLE", "IDEMPOTENCY_TABLE", "OUTBOX_TABLE"],
        redis: true,
        postgres: true,
        publishOrders: true,
        consumeOrders: false,
        retryOrders: false,
        adminToken: true,
      },
    ],
    [
      "broadcaster",
      {
        tables: [],
        redis: true,
        postgres: false,
        publishOrders: false,
        consumeOrders: false,
        retryOrders: false,
        adminToken: false,
      },
    ],
    [
      "archiver",
      {
        tables: [],
        redis: true,
        postgres: true,
        publishOrders: false,
        consumeOrders: false,
        retryOrders: false,
        adminToken: false,
      },
    ],
  ] as const)("%s", (role, needs) => {
    const got = resourcesOf(role);
    expect({ ...got, tables: [...got.tables].sort() }).toEqual({
      ...needs,
      tables: [...needs.tables].sort(),
    });
  });

  test("the processor on Lambda: the order tables and retry times, never receive or delete", () => {
    const got = resourcesOf(...LAMBDA_ROOTS.processor);
    expect({ ...got, tables: [...got.tables].sort() }).toEqual({
      tables: ["IDEMPOTENCY_TABLE", "INVENTORY_TABLE", "ORDERS_TABLE"],
      redis: false,
      postgres: false,
      publishOrders: false,
      // The event source mapping receives and deletes; the function only sets retry times.
      consumeOrders: false,
      retryOrders: true,
      adminToken: false,
    });
    // The same orders, stock and charges as the ECS processor: the same OrderWorker.
    expect([...got.tables].sort()).toEqual([...resourcesOf("processor").tables].sort());
    expect(modulesOf(...LAMBDA_ROOTS.processor)).toContain("orderWorker");
    expect(modulesOf(...LAMBDA_ROOTS.processor)).not.toContain("server");
    expect(modulesOf(...LAMBDA_ROOTS.processor)).not.toContain("orderProcessor");
  });

  test("the roles together use exactly the tables shop defines (src/adapters/dynamodb/tables.ts)", () => {
    expect([...resourcesOf("all").tables].sort()).toEqual(TABLES.map((t) => t.env).sort());
  });

  test("each store module reads its table variable from the declaration", () => {
    const stores = [
      "productStore",
      "orderStore",
      "cartStore",
      "inventoryStore",
      "idempotencyStore",
      "idAllocator",
    ];
    expect(stores.map((m) => tableOf(m as ModuleName))).toEqual([
      "PRODUCTS_TABLE",
      "ORDERS_TABLE",
      "CARTS_TABLE",
      "INVENTORY_TABLE",
      "IDEMPOTENCY_TABLE",
      "COUNTERS_TABLE",
    ]);
    expect(() => tableOf("orders")).toThrow(/exactly one table/);
  });

  test("only modules declare resources, never roles", () => {
    expect(Object.keys(USES).filter(isRole)).toEqual([]);
  });
});

test("docs/architecture.md shows the roles as --list-roles prints them from the map", async () => {
  const doc = await Bun.file(`${ROOT}docs/architecture.md`).text();
  expect(doc).toContain(`\`\`\`\n${describeRoles()}\n\`\`\``);
});
