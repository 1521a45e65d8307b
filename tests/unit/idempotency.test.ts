/** services/idempotency.ts on the memory store: which outcomes are remembered, and for whom. */
import { describe, expect, test } from "bun:test";
import { MemoryIdempotencyStore } from "../../src/adapters/memory/idempotency.ts";
import { IDEMPOTENCY_TTL_MS } from "../../src/domain/idempotency.ts";
import { sha256 } from "../../src/domain/orders.ts";
import { DomainError, unavailable } from "../../src/domain/outcomes.ts";
import { idempotent } from "../../src/services/idempotency.ts";

const counted = <T>(answer: () => Promise<T>) => {
  const fn = Object.assign(
    async () => {
      fn.calls++;
      return answer();
    },
    { calls: 0 },
  );
  return fn;
};

const outcome = (p: Promise<unknown>) =>
  p.then(
    (value) => ({ value }),
    (err: unknown) => ({ err }),
  );

describe("idempotent", () => {
  test("without a key every request runs", async () => {
    const store = new MemoryIdempotencyStore();
    const run = counted(async () => ({ n: 1 }));
    await idempotent(store, "s", undefined, {}, run);
    await idempotent(store, "s", undefined, {}, run);
    expect(run.calls).toBe(2);
  });

  test("the same key and body: run once, the result replayed", async () => {
    const store = new MemoryIdempotencyStore();
    let n = 0;
    const run = counted(async () => ({ n: ++n }));
    expect(await idempotent(store, "s", "k", { a: 1 }, run)).toEqual({ n: 1 });
    expect(await idempotent(store, "s", "k", { a: 1 }, run)).toEqual({ n: 1 });
    expect(run.calls).toBe(1);
  });

  test("keys are per scope", async () => {
    const store = new MemoryIdempotencyStore();
    const run = counted(async () => "ok");
    await idempotent(store, "checkout:1", "k", {}, run);
    await idempotent(store, "checkout:2", "k", {}, run);
    expect(run.calls).toBe(2);
  });

  test("a final refusal is the answer too: replayed with its code, details and data", async () => {
    const store = new MemoryIdempotencyStore();
    const run = counted(async () => {
      throw new DomainError("CART_CHECKED_OUT", "already", { details: "order 4", data: { order_id: 4 } });
    });
    for (let i = 0; i < 2; i++) {
      const { err } = (await outcome(idempotent(store, "s", "k", {}, run))) as { err: DomainError };
      expect(err).toBeInstanceOf(DomainError);
      expect(err).toMatchObject({
        code: "CART_CHECKED_OUT",
        message: "already",
        details: "order 4",
        data: { order_id: 4 },
      });
    }
    expect(run.calls).toBe(1);
  });

  test.each(["DEPENDENCY_UNAVAILABLE", "TRY_AGAIN"] as const)(
    "%s is not remembered: the retry runs",
    async (code) => {
      const store = new MemoryIdempotencyStore();
      let fail = true;
      const run = counted(async () => {
        if (fail) throw new DomainError(code, "not now", { retryAfterS: 1 });
        return "done";
      });
      expect(((await outcome(idempotent(store, "s", "k", {}, run))) as { err: DomainError }).err.code).toBe(
        code,
      );
      fail = false;
      expect(await idempotent(store, "s", "k", {}, run)).toBe("done");
      expect(run.calls).toBe(2);
    },
  );

  test("a crash (not an outcome) is not remembered either", async () => {
    const store = new MemoryIdempotencyStore();
    let fail = true;
    const run = counted(async () => {
      if (fail) throw new TypeError("bug");
      return "done";
    });
    expect(((await outcome(idempotent(store, "s", "k", {}, run))) as { err: Error }).err).toBeInstanceOf(
      TypeError,
    );
    fail = false;
    expect(await idempotent(store, "s", "k", {}, run)).toBe("done");
  });

  test("the same key with another body is CONFLICT, without running", async () => {
    const store = new MemoryIdempotencyStore();
    const run = counted(async () => "first");
    await idempotent(store, "s", "k", { card: "a" }, run);
    const { err } = (await outcome(idempotent(store, "s", "k", { card: "b" }, run))) as { err: DomainError };
    expect(err.code).toBe("CONFLICT");
    expect(run.calls).toBe(1);
  });

  test.each(["", "has space", "é", "x".repeat(256)])("key %p is INVALID_INPUT", async (key) => {
    const store = new MemoryIdempotencyStore();
    const { err } = (await outcome(idempotent(store, "s", key, {}, async () => 1))) as { err: DomainError };
    expect(err).toMatchObject({ code: "INVALID_INPUT", details: expect.stringContaining("Idempotency-Key") });
  });

  test("concurrent requests with one key wait for the first and get its answer", async () => {
    const store = new MemoryIdempotencyStore();
    let finish: (v: string) => void = () => {};
    const run = counted(
      () =>
        new Promise<string>((resolve) => {
          finish = resolve;
        }),
    );
    const first = idempotent(store, "s", "k", {}, run);
    const second = idempotent(store, "s", "k", {}, run);
    await Bun.sleep(50);
    finish("one answer");
    expect(await Promise.all([first, second])).toEqual(["one answer", "one answer"]);
    expect(run.calls).toBe(1);
  });

  test("a key whose owner died without answering is taken over once its lease expired", async () => {
    const store = new MemoryIdempotencyStore();
    // What a crashed owner leaves: the key claimed with a lease already over, and no answer.
    await store.claim("s:k", await sha256(JSON.stringify({})), 0, IDEMPOTENCY_TTL_MS);
    await Bun.sleep(2);
    expect(await idempotent(store, "s", "k", {}, async () => "taken over")).toBe("taken over");
  });

  test("the outcome stored is the domain outcome, not an HTTP answer", async () => {
    const store = new MemoryIdempotencyStore();
    await idempotent(store, "s", "ok", {}, async () => ({ order_id: 1 }));
    await outcome(idempotent(store, "s", "no", {}, async () => Promise.reject(unavailable("down"))));
    await outcome(
      idempotent(store, "s", "refused", {}, async () =>
        Promise.reject(new DomainError("CART_EMPTY", "empty")),
      ),
    );
    const claim = async (key: string) => store.claim(key, await sha256("{}"), 1000, IDEMPOTENCY_TTL_MS);
    expect(await claim("s:ok")).toMatchObject({
      kind: "done",
      record: { response: { ok: true, value: { order_id: 1 } } },
    });
    expect(await claim("s:refused")).toMatchObject({
      kind: "done",
      record: { response: { ok: false, code: "CART_EMPTY", message: "empty" } },
    });
    expect(await claim("s:no")).toEqual({ kind: "owner" });
  });
});
