import { beforeAll, expect, test } from "bun:test";
import { createDynamoDb } from "../../src/adapters/dynamodb/client.ts";
import { DynamoInventoryStore } from "../../src/adapters/dynamodb/inventory.ts";
import { seed } from "../../src/cli/seed.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/observability/log.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { createResilience } from "../../src/resilience/index.ts";
import { demoPriceCents } from "../../src/services/seed-stock.ts";
import { createCommerceTables } from "../helpers/aws.ts";
import { sharedDynamoDb } from "../helpers/deps.ts";

let env: Record<string, string>;
beforeAll(async () => {
  env = { ...(await createCommerceTables((await sharedDynamoDb()).url)), LOG_LEVEL: "silent" };
});

test("shop seed --stock N --products P stocks products 1..P with N units at their demo price", async () => {
  let out = "";
  await seed({ stock: 7, products: 3 }, { env }, { tty: false, write: (t) => (out += t) });
  expect(out).toContain("seeded 3 products into the in-memory store");
  expect(out).toContain(
    `seeded 7 units of stock for each of products 1..3 into DynamoDB table ${env.INVENTORY_TABLE}`,
  );

  const config = loadConfig(env);
  const resilience = createResilience(undefined, createMetrics().registry, createLogger("silent"));
  const store = new DynamoInventoryStore(createDynamoDb(config, resilience).doc, env.INVENTORY_TABLE ?? "");
  for (const id of [1, 2, 3]) {
    expect(await store.get(id)).toMatchObject({ available: 7, reserved: 0, price_cents: demoPriceCents(id) });
  }
  expect(await store.get(4)).toBeUndefined();
});
