import { DynamodbTable } from "@cdktn/provider-aws/lib/dynamodb-table";
import { Construct } from "constructs";
import { TABLES as APP_TABLES } from "../../src/adapters/dynamodb/tables.ts";
import { type TableName, tableName } from "../config.ts";

/** Items of these tables expire through DynamoDB TTL on this attribute (epoch seconds). */
export const TABLE_TTL: Partial<Record<TableName, string>> = { idempotency: "expires_at" };

export interface DataProps {
  prefix: string;
  deletionProtection: boolean;
}

export interface TableRef {
  name: string;
  arn: string;
  /** The variable the app reads the table's name from. */
  variable: string;
}

/**
 * The app's DynamoDB tables (src/adapters/dynamodb/tables.ts, partition keys as its adapters use them):
 * on-demand, point-in-time recovery, encrypted at rest.
 */
export class Data extends Construct {
  readonly tables: Record<TableName, TableRef>;

  constructor(scope: Construct, id: string, props: DataProps) {
    super(scope, id);
    const tables = {} as Record<TableName, TableRef>;
    for (const def of APP_TABLES) {
      const name = tableName(def.env);
      const ttl = TABLE_TTL[name];
      const table = new DynamodbTable(this, name, {
        name: `${props.prefix}-${name}`,
        billingMode: "PAY_PER_REQUEST",
        hashKey: def.partitionKey.name,
        attribute: [{ name: def.partitionKey.name, type: def.partitionKey.type }],
        pointInTimeRecovery: { enabled: true },
        serverSideEncryption: { enabled: true },
        deletionProtectionEnabled: props.deletionProtection,
        ...(ttl ? { ttl: { enabled: true, attributeName: ttl } } : {}),
      });
      tables[name] = { name: table.name, arn: table.arn, variable: def.env };
    }
    this.tables = tables;
  }
}
