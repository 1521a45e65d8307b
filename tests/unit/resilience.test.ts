import { describe, expect, test } from "bun:test";
import { DomainError } from "../../src/domain/outcomes.ts";
import { fromDomain } from "../../src/http/errors.ts";
import { createLogger } from "../../src/observability/log.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { FaultSyntaxError, Faults, InjectedFault, parseFaults } from "../../src/resilience/faults.ts";
import {
  createPolicy,
  createResilienceMetrics,
  isNetworkError,
  type PolicyOptions,
} from "../../src/resilience/policy.ts";

describe("parseFaults", () => {
  test("reads error probabilities and latencies per dependency", () => {
    const faults = parseFaults("dynamodb:error=0.5,redis:latency=200ms, redis:error=1,payment:latency=1.5s");
    expect(Object.fromEntries(faults)).toEqual({
      dynamodb: { error: 0.5 },
      redis: { latencyMs: 200, error: 1 },
      payment: { latencyMs: 1500 },
    });
    expect(parseFaults("").size).toBe(0);
  });

  test.each([
    "dynamodb",
    "dynamodb:error=2",
    "dynamodb:error=-0.1",
    "redis:latency=fast",
    "x:boom=1",
    ":error=1",
  ])("rejects %p", (text) => {
    expect(() => parseFaults(text)).toThrow(FaultSyntaxError);
  });
});

const options = (over: Partial<PolicyOptions> = {}): PolicyOptions => ({
  timeoutMs: 200,
  maxAttempts: 3,
  initialDelayMs: 1,
  maxDelayMs: 5,
  breakAfter: 3,
  halfOpenAfterMs: 100,
  isTransient: isNetworkError,
  ...over,
});

function setup(over: Partial<PolicyOptions> = {}, faults = new Faults()) {
  const metrics = createResilienceMetrics(createMetrics().registry);
  const policy = createPolicy("dep", options(over), { faults, metrics, logger: createLogger("silent") });
  return { policy, metrics, faults };
}

class Validation extends Error {}

describe("dependency policy", () => {
  test("retries transient failures and succeeds", async () => {
    const { policy, metrics } = setup();
    let calls = 0;
    const result = await policy.execute(async () => {
      calls++;
      if (calls < 3) throw new InjectedFault("dep");
      return "ok";
    });
    expect(result).toBe("ok");
    expect(calls).toBe(3);
    expect((await metrics.retries.get()).values[0]?.value).toBe(2);
  });

  test("never retries a non-transient error and does not count it towards the breaker", async () => {
    const { policy } = setup({ breakAfter: 1 });
    let calls = 0;
    for (let i = 0; i < 3; i++) {
      await expect(
        policy.execute(async () => {
          calls++;
          throw new Validation("bad");
        }),
      ).rejects.toBeInstanceOf(Validation);
    }
    expect(calls).toBe(3);
    expect(policy.state()).toBe("closed");
  });

  test("opens after consecutive failures, rejects without calling, and a probe closes it", async () => {
    const { policy } = setup({ maxAttempts: 1, breakAfter: 2 });
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new InjectedFault("dep");
    };
    for (let i = 0; i < 2; i++) await expect(policy.execute(failing)).rejects.toBeInstanceOf(DomainError);
    expect(policy.state()).toBe("open");
    const before = calls;
    const err = await policy.execute(failing).catch((e) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe("DEPENDENCY_UNAVAILABLE");
    expect((err as DomainError).retryAfterS).toBe(1);
    // At the HTTP edge that is a 503 with Retry-After.
    expect(fromDomain(err as DomainError).status).toBe(503);
    expect(fromDomain(err as DomainError).headers?.["Retry-After"]).toBe("1");
    expect(calls).toBe(before);
    await Bun.sleep(120);
    expect(await policy.execute(async () => "back")).toBe("back");
    expect(policy.state()).toBe("closed");
  });

  test("a run of failures among mostly successful calls does not open the circuit", async () => {
    const { policy } = setup({ maxAttempts: 1, breakAfter: 3 });
    for (let i = 0; i < 10; i++) await policy.execute(async () => "ok");
    for (let i = 0; i < 4; i++) {
      await expect(
        policy.execute(async () => {
          throw new InjectedFault("dep");
        }),
      ).rejects.toBeInstanceOf(DomainError);
    }
    // 4 consecutive failures, but 4 of 14 calls in the last second: a partial failure, not an outage.
    expect(policy.state()).toBe("closed");
    for (let i = 0; i < 8; i++) {
      await policy
        .execute(async () => {
          throw new InjectedFault("dep");
        })
        .catch(() => {});
    }
    expect(policy.state()).toBe("open");
  });

  test("injected faults count like real failures", async () => {
    const faults = new Faults(parseFaults("dep:error=1"));
    const { policy } = setup({ maxAttempts: 2, breakAfter: 2 }, faults);
    let calls = 0;
    const call = async () => {
      calls++;
      return 1;
    };
    // The breaker wraps the retries: each execute is one failure to it, whatever the attempts inside.
    await expect(policy.execute(call)).rejects.toBeInstanceOf(DomainError);
    expect(policy.state()).toBe("closed");
    await expect(policy.execute(call)).rejects.toBeInstanceOf(DomainError);
    expect(calls).toBe(0);
    expect(policy.state()).toBe("open");
    faults.clear();
  });

  test("a slow attempt times out and is retried", async () => {
    const { policy } = setup({ timeoutMs: 20 });
    let calls = 0;
    const result = await policy.execute(async (signal) => {
      calls++;
      if (calls === 1) {
        await new Promise((resolve, reject) => {
          const t = setTimeout(resolve, 1000);
          signal.addEventListener("abort", () => {
            clearTimeout(t);
            reject(new Error("aborted"));
          });
        });
      }
      return calls;
    });
    expect(result).toBe(2);
  });
});
