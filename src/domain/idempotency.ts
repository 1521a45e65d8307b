/**
 * Idempotency-Key: the first request with a key runs; any later one with the same key and body gets
 * the stored outcome, a different body gets CONFLICT. A request that is still running holds a lease; others
 * wait for its answer, and take over only once the lease has expired (its owner crashed).
 */

import type { OutcomeCode, OutcomeData } from "./outcomes.ts";

/**
 * A request's final outcome as the use case decided it: its result, or the refusal (never a transient
 * one: those are not answers). The HTTP edge turns either into the same response every time.
 */
export type StoredOutcome =
  | { ok: true; value: unknown }
  | { ok: false; code: OutcomeCode; message: string; details?: string; data?: OutcomeData };

export interface IdempotencyRecord {
  key: string;
  request_hash: string;
  response?: StoredOutcome;
  lease_until: number;
  expires_at: number;
}

export type ClaimResult =
  | { kind: "owner" }
  | { kind: "done"; record: IdempotencyRecord }
  | { kind: "running"; record: IdempotencyRecord };

export interface IdempotencyStore {
  /** Takes the key if absent or its lease expired without an answer. */
  claim(key: string, requestHash: string, leaseMs: number, ttlMs: number): Promise<ClaimResult>;
  complete(key: string, response: StoredOutcome, ttlMs: number): Promise<void>;
  /** Gives the key up so a retry runs again (the request failed with nothing to remember). */
  release(key: string): Promise<void>;
}

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
export const IDEMPOTENCY_LEASE_MS = 30_000;
