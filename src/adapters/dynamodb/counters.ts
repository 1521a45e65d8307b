import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { IdAllocator } from "../../domain/counters.ts";
import { INT32_MAX } from "../../domain/ids.ts";

/** COUNTERS_TABLE, partition key name (S): an atomic ADD per id, so processes never hand out the same one. */
export class DynamoIdAllocator implements IdAllocator {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async next(name: string): Promise<number> {
    const r = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { name },
        UpdateExpression: "ADD #v :one",
        ExpressionAttributeNames: { "#v": "value" },
        ExpressionAttributeValues: { ":one": 1 },
        ReturnValues: "UPDATED_NEW",
      }),
    );
    const value = Number((r.Attributes as { value: number }).value);
    if (value > INT32_MAX) throw new Error(`counter ${name} is past int32; ids are exhausted`);
    return value;
  }
}
