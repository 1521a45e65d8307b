/**
 * Facts the app owns, as Terraform deploys them: one list of DynamoDB tables (src/adapters/dynamodb/tables.ts)
 * with the partition keys its adapters use, and each role's resources as the app's module graph declares
 * them (`resourcesOf`, src/modules/deps.ts), handed to that role's task and to no other. Adding a table or a
 * use on one side only fails here.
 */
import { describe, expect, test } from "bun:test";
import { TABLES as APP_TABLES } from "../../src/adapters/dynamodb/tables.ts";
import { vars } from "../../src/config.ts";
import { resourcesOf } from "../../src/modules/deps.ts";
import { ROLES, TABLES } from "../../terraform/config.ts";
import { container, dev, envOf, resources, secretsOf } from "./helpers.ts";

const s = dev();
const deployed = resources(s.tf, "aws_dynamodb_table").map(([, t]) => t);

describe("DynamoDB tables: the app's list, deployed", () => {
  test("one table per app table, with the app's partition key", () => {
    const fromApp = APP_TABLES.map((t) => ({
      name: `shop-dev-${t.env.replace(/_TABLE$/, "").toLowerCase()}`,
      hash_key: t.partitionKey.name,
      attribute: [{ name: t.partitionKey.name, type: t.partitionKey.type }],
    }));
    const fromTerraform = deployed.map((t) => ({
      name: t.name,
      hash_key: t.hash_key,
      attribute: t.attribute,
    }));
    expect(fromTerraform.sort((a, b) => String(a.name).localeCompare(String(b.name)))).toEqual(
      fromApp.sort((a, b) => a.name.localeCompare(b.name)),
    );
    expect(TABLES).toHaveLength(APP_TABLES.length);
  });

  test("each role's task gets exactly the tables, stores, topic, queue and token its modules use", () => {
    const tableVars: string[] = APP_TABLES.map((t) => t.env);
    for (const role of ROLES) {
      const uses = resourcesOf(role);
      const c = container(s.tf, role);
      const e = envOf(c);
      const given = Object.keys(e).filter((k) => tableVars.includes(k));
      expect({ role, tables: given.sort() }).toEqual({ role, tables: [...uses.tables].sort() });
      for (const v of given) expect(Object.keys(vars)).toContain(v);
      expect({
        role,
        redis: "REDIS_URL" in e,
        postgres: "DATABASE_URL" in e,
        publishOrders: "SNS_TOPIC_ARN" in e,
        consumeOrders: "SQS_QUEUE_URL" in e,
        adminToken: "ADMIN_TOKEN" in secretsOf(c),
      }).toEqual({
        role,
        redis: uses.redis,
        postgres: uses.postgres,
        publishOrders: uses.publishOrders,
        consumeOrders: uses.consumeOrders,
        adminToken: uses.adminToken,
      });
    }
  });

  test("the processor is granted the order tables and never carts", () => {
    expect(resourcesOf("processor").tables.sort()).toEqual([
      "IDEMPOTENCY_TABLE",
      "INVENTORY_TABLE",
      "ORDERS_TABLE",
    ]);
  });
});
