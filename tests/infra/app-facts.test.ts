/**
 * Facts the app owns, as Terraform deploys them: one list of DynamoDB tables (src/adapters/dynamodb/tables.ts)
 * with the partition keys its adapters use, each handed to the roles that use it under the variable the app
 * reads. Adding a table on one side only fails here.
 */
import { describe, expect, test } from "bun:test";
import { TABLES as APP_TABLES } from "../../src/adapters/dynamodb/tables.ts";
import { vars } from "../../src/config.ts";
import { environments, roleNeeds, TABLES } from "../../terraform/config.ts";
import { container, dev, envOf, resources } from "./helpers.ts";

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

  test("each role gets its tables under the variable the app reads, and no other table variable", () => {
    const needs = roleNeeds(environments.dev);
    const tableVars = APP_TABLES.map((t) => t.env);
    for (const [role, n] of Object.entries(needs)) {
      const e = envOf(container(s.tf, role));
      const given = Object.keys(e).filter((k) => (tableVars as string[]).includes(k));
      expect({ role, given: given.sort() }).toEqual({
        role,
        given: n.tables.map((t) => `${t.toUpperCase()}_TABLE`).sort(),
      });
      for (const v of given) expect(Object.keys(vars)).toContain(v);
    }
  });
});
