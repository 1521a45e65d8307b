/**
 * `shop migrate`: creates the configured DynamoDB tables that do not exist yet, for local emulators and
 * tests. On AWS, Terraform owns the tables, so a real AWS endpoint is refused unless forced.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import { createDynamoClient, dynamoEndpoint, isAwsEndpoint } from "../adapters/dynamodb/client.ts";
import { configuredTables, type TableDef } from "../adapters/dynamodb/tables.ts";
import type { Config } from "../config.ts";

export class MigrateRefused extends Error {
  override name = "MigrateRefused";
}

/** Creates each missing table (on-demand capacity) and waits until it is active; returns what it did. */
export async function ensureTables(
  client: DynamoDBClient,
  tables: readonly { def: TableDef; name: string }[],
): Promise<{ name: string; action: "created" | "exists" }[]> {
  const results: { name: string; action: "created" | "exists" }[] = [];
  for (const { def, name } of tables) {
    try {
      await client.send(new DescribeTableCommand({ TableName: name }));
      results.push({ name, action: "exists" });
      continue;
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException)) throw err;
    }
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: def.partitionKey.name, AttributeType: def.partitionKey.type },
        ],
        KeySchema: [{ AttributeName: def.partitionKey.name, KeyType: "HASH" }],
      }),
    );
    await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1 }, { TableName: name });
    results.push({ name, action: "created" });
  }
  return results;
}

export async function migrate(config: Config, force: boolean, print: (line: string) => void): Promise<void> {
  const endpoint = dynamoEndpoint(config);
  if (isAwsEndpoint(endpoint) && !force) {
    throw new MigrateRefused(
      `refusing to create tables on AWS (${endpoint ?? "default endpoint"}): Terraform owns them there. ` +
        "Set AWS_ENDPOINT_URL_DYNAMODB to a local emulator, or pass --force.",
    );
  }
  const tables = configuredTables(config);
  if (tables.length === 0) {
    print("no *_TABLE variable is set: nothing to migrate");
    return;
  }
  const client = createDynamoClient(config);
  try {
    for (const { name, action } of await ensureTables(client, tables)) {
      print(`${name.padEnd(40)} ${action}`);
    }
  } finally {
    client.destroy();
  }
}
