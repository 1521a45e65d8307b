import { DeleteCommand, type DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { OutboxRecord, OutboxStore } from "../../domain/outbox.ts";

/**
 * OUTBOX_TABLE, partition key id (S). Records are written by the transactions of ./transactions.ts and
 * deleted once published, so the table holds only what waits: a Scan of it stays small.
 */
export class DynamoOutbox implements OutboxStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async pending(limit: number): Promise<OutboxRecord[]> {
    const r = await this.db.send(
      new ScanCommand({ TableName: this.table, Limit: limit, ConsistentRead: true }),
    );
    return (r.Items ?? []) as OutboxRecord[];
  }

  async markSent(id: string): Promise<void> {
    // Unconditional: deleting a record another relay already removed is the same outcome.
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: { id } }));
  }
}
