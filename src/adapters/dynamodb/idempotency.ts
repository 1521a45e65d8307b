import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type {
  ClaimResult,
  IdempotencyRecord,
  IdempotencyStore,
  StoredOutcome,
} from "../../domain/idempotency.ts";
import type { ChargeLedger, ChargeRecord } from "../../domain/payments.ts";
import { isConditionFailed } from "./errors.ts";

/** DynamoDB's TTL reads epoch seconds; records keep milliseconds in `lease_until`. */
const seconds = (ms: number) => Math.floor(ms / 1000);

/** IDEMPOTENCY_TABLE, partition key `key` (S), TTL attribute expires_at (epoch seconds). */
export class DynamoIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async claim(key: string, requestHash: string, leaseMs: number, ttlMs: number): Promise<ClaimResult> {
    const now = Date.now();
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            key,
            request_hash: requestHash,
            lease_until: now + leaseMs,
            expires_at: seconds(now + ttlMs),
          },
          // Absent, expired (TTL deletes lazily), or abandoned by a crashed owner without an answer.
          ConditionExpression:
            "attribute_not_exists(#k) OR expires_at < :nowS OR (attribute_not_exists(#r) AND lease_until < :now)",
          ExpressionAttributeNames: { "#k": "key", "#r": "response" },
          ExpressionAttributeValues: { ":nowS": seconds(now), ":now": now },
        }),
      );
      return { kind: "owner" };
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
    const r = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { key }, ConsistentRead: true }),
    );
    const item = r.Item as (Omit<IdempotencyRecord, "expires_at"> & { expires_at: number }) | undefined;
    // Deleted by its owner's release in between: the caller simply tries again.
    if (!item)
      return {
        kind: "running",
        record: { key, request_hash: requestHash, lease_until: now, expires_at: now },
      };
    const record: IdempotencyRecord = { ...item, expires_at: item.expires_at * 1000 };
    return record.response ? { kind: "done", record } : { kind: "running", record };
  }

  async complete(key: string, response: StoredOutcome, ttlMs: number): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { key },
        UpdateExpression: "SET #r = :r, expires_at = :e",
        ExpressionAttributeNames: { "#r": "response" },
        ExpressionAttributeValues: { ":r": response, ":e": seconds(Date.now() + ttlMs) },
      }),
    );
  }

  async release(key: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: { key } }));
  }
}

/** The simulated gateway's ledger, in IDEMPOTENCY_TABLE under `charge:<key>` with no expiry. */
export class DynamoChargeLedger implements ChargeLedger {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async get(key: string): Promise<ChargeRecord | undefined> {
    const r = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { key: `charge:${key}` }, ConsistentRead: true }),
    );
    return r.Item ? (r.Item as { charge: ChargeRecord }).charge : undefined;
  }

  async record(record: ChargeRecord): Promise<ChargeRecord> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { key: `charge:${record.key}`, charge: record },
          ConditionExpression: "attribute_not_exists(#k)",
          ExpressionAttributeNames: { "#k": "key" },
        }),
      );
      return record;
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      const existing = await this.get(record.key);
      if (!existing) throw new Error(`charge ${record.key} vanished`);
      return existing;
    }
  }
}
