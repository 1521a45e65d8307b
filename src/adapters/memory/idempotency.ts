import type {
  ClaimResult,
  IdempotencyRecord,
  IdempotencyStore,
  StoredOutcome,
} from "../../domain/idempotency.ts";
import { copy } from "../../util/copy.ts";

export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly records = new Map<string, IdempotencyRecord>();

  async claim(key: string, requestHash: string, leaseMs: number, ttlMs: number): Promise<ClaimResult> {
    const now = Date.now();
    const r = this.records.get(key);
    if (r && r.expires_at > now) {
      if (r.response) return { kind: "done", record: copy(r) };
      if (r.lease_until > now) return { kind: "running", record: copy(r) };
    }
    this.records.set(key, {
      key,
      request_hash: requestHash,
      lease_until: now + leaseMs,
      expires_at: now + ttlMs,
    });
    return { kind: "owner" };
  }

  async complete(key: string, response: StoredOutcome, ttlMs: number): Promise<void> {
    const r = this.records.get(key);
    if (!r) return;
    r.response = copy(response);
    r.expires_at = Date.now() + ttlMs;
  }

  async release(key: string): Promise<void> {
    this.records.delete(key);
  }
}
