import {
  IDEMPOTENCY_LEASE_MS,
  IDEMPOTENCY_TTL_MS,
  type IdempotencyStore,
  type StoredResponse,
} from "../domain/idempotency.ts";
import { sha256 } from "../domain/orders.ts";
import { ApiError, conflict, invalidInput } from "../http/errors.ts";
import { sleep } from "../util/time.ts";

const KEY = /^[\x21-\x7e]{1,255}$/;
const WAIT_MS = 15_000;

/**
 * Runs `run` once per Idempotency-Key: concurrent and later requests with the same key and body get
 * the first answer (4xx answers included: they are as final as a 200); a different body is 409. A
 * 5xx is not remembered, so a retry runs again; whatever `run` did before failing must itself be keyed
 * (the gateway charge is) so that running again cannot repeat it.
 */
export async function idempotent(
  store: IdempotencyStore,
  scope: string,
  key: string | undefined,
  body: unknown,
  run: () => Promise<StoredResponse>,
): Promise<StoredResponse> {
  if (key === undefined) return answer(run);
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
    if (claim.kind === "done" && claim.record.response) return claim.record.response;
    if (claim.kind === "owner") break;
    if (Date.now() >= deadline) throw conflict("a request with this Idempotency-Key is still in progress");
    await sleep(20);
  }
  let response: StoredResponse;
  try {
    response = await answer(run);
  } catch (err) {
    await store.release(fullKey).catch(() => {});
    throw err;
  }
  await store.complete(fullKey, response, IDEMPOTENCY_TTL_MS);
  return response;
}

/** 4xx ApiErrors are answers worth replaying; anything else propagates. */
async function answer(run: () => Promise<StoredResponse>): Promise<StoredResponse> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ApiError && err.status < 500) return { status: err.status, body: err.body() };
    throw err;
  }
}
