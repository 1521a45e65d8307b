import {
  IDEMPOTENCY_LEASE_MS,
  IDEMPOTENCY_TTL_MS,
  type IdempotencyStore,
  type StoredOutcome,
} from "../domain/idempotency.ts";
import { sha256 } from "../domain/orders.ts";
import { conflict, DomainError, invalidInput, isTransient } from "../domain/outcomes.ts";
import { sleep } from "../util/time.ts";

const KEY = /^[\x21-\x7e]{1,255}$/;
const WAIT_MS = 15_000;

/**
 * Runs `run` once per Idempotency-Key: concurrent and later requests with the same key and body get
 * the first outcome (refusals included: CART_EMPTY is as final as a success); a different body is
 * CONFLICT. A transient outcome (DEPENDENCY_UNAVAILABLE, TRY_AGAIN) or any other failure is not
 * remembered, so a retry runs again; whatever `run` did before failing must itself be keyed (the
 * gateway charge is) so that running again cannot repeat it.
 */
export async function idempotent<T>(
  store: IdempotencyStore,
  scope: string,
  key: string | undefined,
  body: unknown,
  run: () => Promise<T>,
): Promise<T> {
  if (key === undefined) return run();
  if (!KEY.test(key))
    throw invalidInput("Invalid header", "Idempotency-Key: 1..255 printable ASCII characters");
  const fullKey = `${scope}:${key}`;
  const hash = await sha256(JSON.stringify(body ?? null));
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const claim = await store.claim(fullKey, hash, IDEMPOTENCY_LEASE_MS, IDEMPOTENCY_TTL_MS);
    if (claim.kind !== "owner" && claim.record.request_hash !== hash) {
      throw conflict("Idempotency-Key was already used with a different request body");
    }
    if (claim.kind === "done" && claim.record.response) return replay(claim.record.response) as T;
    if (claim.kind === "owner") break;
    if (Date.now() >= deadline) throw conflict("a request with this Idempotency-Key is still in progress");
    await sleep(20);
  }
  let value: T;
  try {
    value = await run();
  } catch (err) {
    if (err instanceof DomainError && !isTransient(err.code)) {
      await store.complete(fullKey, refusal(err), IDEMPOTENCY_TTL_MS);
    } else {
      await store.release(fullKey).catch(() => {});
    }
    throw err;
  }
  await store.complete(fullKey, { ok: true, value }, IDEMPOTENCY_TTL_MS);
  return value;
}

const refusal = (err: DomainError): StoredOutcome => ({
  ok: false,
  code: err.code,
  message: err.message,
  details: err.details,
  data: err.data,
});

function replay(outcome: StoredOutcome): unknown {
  if (outcome.ok) return outcome.value;
  throw new DomainError(outcome.code, outcome.message, { details: outcome.details, data: outcome.data });
}
