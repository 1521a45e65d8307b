/**
 * Every DynamoDB table shop uses, by the environment variable that names it. `shop migrate` creates the
 * missing ones and the `dynamodb` module checks them for readiness; Terraform mirrors these keys on AWS.
 * A store added later only needs its variable in src/config.ts: its row is already here.
 */
import type { Config } from "../../config.ts";

export interface TableDef {
  /** The environment variable holding the table name. */
  env: string;
  partitionKey: { name: string; type: "N" | "S" };
}

export const TABLES: readonly TableDef[] = [
  { env: "PRODUCTS_TABLE", partitionKey: { name: "product_id", type: "N" } },
  { env: "CARTS_TABLE", partitionKey: { name: "shopping_cart_id", type: "N" } },
  { env: "INVENTORY_TABLE", partitionKey: { name: "product_id", type: "N" } },
  { env: "ORDERS_TABLE", partitionKey: { name: "order_id", type: "S" } },
  { env: "IDEMPOTENCY_TABLE", partitionKey: { name: "key", type: "S" } },
  { env: "COUNTERS_TABLE", partitionKey: { name: "name", type: "S" } },
];

/**
 * The tables this process is configured with. The lookup is by name because a row may precede its
 * variable in the config table (another store not merged yet); such a row is simply not configured.
 */
export function configuredTables(config: Config): { def: TableDef; name: string }[] {
  const values = config as unknown as Readonly<Record<string, unknown>>;
  return TABLES.flatMap((def) => {
    const name = values[def.env];
    return typeof name === "string" ? [{ def, name }] : [];
  });
}
