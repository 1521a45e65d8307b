/**
 * Every DynamoDB table shop uses, by the environment variable that names it. `shop migrate` creates the
 * missing ones and the `dynamodb` module checks them for readiness; Terraform mirrors these keys on AWS.
 */
import type { Config } from "../../config.ts";

export type TableVariable = Extract<keyof Config, `${string}_TABLE`>;

export interface TableDef {
  /** The environment variable holding the table name. */
  env: TableVariable;
  partitionKey: { name: string; type: "N" | "S" };
}

export const TABLES: readonly TableDef[] = [
  { env: "PRODUCTS_TABLE", partitionKey: { name: "product_id", type: "N" } },
  { env: "CARTS_TABLE", partitionKey: { name: "shopping_cart_id", type: "N" } },
  { env: "INVENTORY_TABLE", partitionKey: { name: "product_id", type: "N" } },
  { env: "ORDERS_TABLE", partitionKey: { name: "order_id", type: "S" } },
  { env: "IDEMPOTENCY_TABLE", partitionKey: { name: "key", type: "S" } },
  { env: "COUNTERS_TABLE", partitionKey: { name: "name", type: "S" } },
  { env: "OUTBOX_TABLE", partitionKey: { name: "id", type: "S" } },
];

/** The tables this process is configured with. */
export function configuredTables(config: Config): { def: TableDef; name: string }[] {
  return TABLES.flatMap((def) => {
    const name = config[def.env];
    return name === undefined ? [] : [{ def, name }];
  });
}
