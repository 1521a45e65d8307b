import { DynamodbTable } from "@cdktn/provider-aws/lib/dynamodb-table";
import { Construct } from "constructs";
import type { TableName } from "../config.ts";

interface KeySpec {
  key: string;
  type: "N" | "S";
  /** Items expire through DynamoDB TTL on this attribute (epoch seconds). */
  ttl?: string;
}

/** Partition keys as the app's adapters read and write them. */
export const TABLE_KEYS: Record<TableName, KeySpec> = {
  products: { key: "product_id", type: "N" },
  carts: { key: "shopping_cart_id", type: "N" },
  inventory: { key: "product_id", type: "N" },
  orders: { key: "order_id", type: "S" },
  idempotency: { key: "key", type: "S", ttl: "expires_at" },
  counters: { key: "name", type: "S" },
};

export interface DataProps {
  prefix: string;
  deletionProtection: boolean;
}

export interface TableRef {
  name: string;
  arn: string;
}

/** The DynamoDB tables: on-demand, point-in-time recovery, encrypted at rest. */
export class Data extends Construct {
  readonly tables: Record<TableName, TableRef>;

  constructor(scope: Construct, id: string, props: DataProps) {
    super(scope, id);
    const make = (name: TableName): TableRef => {
      const spec = TABLE_KEYS[name];
      const table = new DynamodbTable(this, name, {
        name: `${props.prefix}-${name}`,
        billingMode: "PAY_PER_REQUEST",
        hashKey: spec.key,
        attribute: [{ name: spec.key, type: spec.type }],
        pointInTimeRecovery: { enabled: true },
        serverSideEncryption: { enabled: true },
        deletionProtectionEnabled: props.deletionProtection,
        ...(spec.ttl ? { ttl: { enabled: true, attributeName: spec.ttl } } : {}),
      });
      return { name: table.name, arn: table.arn };
    };
    this.tables = {
      products: make("products"),
      carts: make("carts"),
      inventory: make("inventory"),
      orders: make("orders"),
      idempotency: make("idempotency"),
      counters: make("counters"),
    };
  }
}
