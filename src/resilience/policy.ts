/**
 * One policy per dependency, built from cockatiel: the circuit breaker outermost, then retry with
 * exponential backoff and full jitter, then a timeout per attempt. An open circuit rejects at once
 * (no retry wraps it), and only dependency failures count: a declined card or a failed conditional
 * write is an answer, not an outage.
 */
import {
  BrokenCircuitError,
  CircuitState,
  circuitBreaker,
  ExponentialBackoff,
  fullJitterGenerator,
  handleWhen,
  type IBreaker,
  IsolatedCircuitError,
  retry,
  SamplingBreaker,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from "cockatiel";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { unavailable } from "../domain/outcomes.ts";
import type { Logger } from "../observability/log.ts";
import { type Faults, InjectedFault } from "./faults.ts";

export interface PolicyOptions {
  /** Per-attempt bound. */
  timeoutMs: number;
  /** Total attempts, the first included. */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** Consecutive failures that open the circuit (while at least half the calls of the last second failed). */
  breakAfter: number;
  /** Time open before a single probe is let through (half-open). */
  halfOpenAfterMs: number;
  /** Errors worth another attempt and counted by the breaker: throttling, 5xx, network. */
  isTransient(err: unknown): boolean;
}

export const stateNames: Record<CircuitState, string> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half-open",
  [CircuitState.Isolated]: "isolated",
};

export interface DependencyPolicy {
  readonly name: string;
  /**
   * Runs `call` under the policy; an open circuit, a timeout or a transient failure becomes a
   * DEPENDENCY_UNAVAILABLE outcome carrying the seconds after which a retry may succeed.
   */
  execute<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T>;
  state(): string;
}

export interface ResilienceMetrics {
  calls: Histogram<"dependency" | "outcome">;
  errors: Counter<"dependency" | "kind">;
  retries: Counter<"dependency">;
  breaker: Gauge<"dependency">;
}

export function createResilienceMetrics(registry: Registry): ResilienceMetrics {
  return {
    calls: new Histogram({
      name: "dependency_call_duration_seconds",
      help: "Latency of each attempt at a dependency call, by outcome",
      labelNames: ["dependency", "outcome"] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    errors: new Counter({
      name: "dependency_errors_total",
      help: "Failed dependency calls by kind (transient, timeout, rejected by open circuit, other)",
      labelNames: ["dependency", "kind"] as const,
      registers: [registry],
    }),
    retries: new Counter({
      name: "dependency_retries_total",
      help: "Retries of dependency calls",
      labelNames: ["dependency"] as const,
      registers: [registry],
    }),
    breaker: new Gauge({
      name: "circuit_breaker_state",
      help: "Circuit breaker state per dependency: 0 closed, 1 open, 2 half-open, 3 isolated",
      labelNames: ["dependency"] as const,
      registers: [registry],
    }),
  };
}

/** Network-level failures any client can raise; adapters add their SDK's own transient errors. */
export function isNetworkError(err: unknown): boolean {
  if (err instanceof InjectedFault || err instanceof TaskCancelledError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return (
    typeof code === "string" &&
    [
      "ECONNREFUSED",
      "ECONNRESET",
      "ETIMEDOUT",
      "EPIPE",
      "ENOTFOUND",
      "EAI_AGAIN",
      "ConnectionRefused",
    ].includes(code)
  );
}

const FAILURE_RATE_WINDOW_MS = 1000;

/**
 * Opens after `breakAfter` consecutive failures, but only while at least half of the calls of the last
 * second failed. Consecutive failures alone open far too eagerly under concurrency: calls that fail fast
 * (throttled, injected) finish in runs while the successful ones still wait on the dependency, so at
 * 50 % injected errors (12.5 % after retries) runs of five kept the circuit open most of the time. A
 * real outage fails every call, so it still opens after `breakAfter`, at any traffic level.
 */
export class ConsecutiveFailureRateBreaker implements IBreaker {
  private consecutive = 0;
  private readonly rate = new SamplingBreaker({
    threshold: 0.5,
    duration: FAILURE_RATE_WINDOW_MS,
    // No minimum traffic: the consecutive count already guards against opening on a couple of calls.
    minimumRps: Number.MIN_VALUE,
  });

  constructor(private readonly breakAfter: number) {}

  get state(): unknown {
    return { consecutive: this.consecutive, rate: this.rate.state };
  }

  set state(value: unknown) {
    const v = value as { consecutive: number; rate: unknown };
    this.consecutive = v.consecutive;
    this.rate.state = v.rate;
  }

  success(state: CircuitState): void {
    this.consecutive = 0;
    this.rate.success(state);
  }

  failure(state: CircuitState): boolean {
    this.consecutive++;
    const mostlyFailing = this.rate.failure(state);
    return state !== CircuitState.Closed || (this.consecutive >= this.breakAfter && mostlyFailing);
  }
}

export function createPolicy(
  name: string,
  options: PolicyOptions,
  deps: { faults: Faults; metrics: ResilienceMetrics; logger: Logger },
): DependencyPolicy {
  const { metrics, faults, logger } = deps;
  const transient = handleWhen((err) => options.isTransient(err));
  const breaker = circuitBreaker(transient, {
    halfOpenAfter: options.halfOpenAfterMs,
    breaker: new ConsecutiveFailureRateBreaker(options.breakAfter),
  });
  const retries = retry(transient, {
    maxAttempts: options.maxAttempts - 1,
    backoff: new ExponentialBackoff({
      generator: fullJitterGenerator,
      initialDelay: options.initialDelayMs,
      maxDelay: options.maxDelayMs,
    }),
  });
  const perAttempt = timeout(options.timeoutMs, TimeoutStrategy.Aggressive);
  const policy = wrap(breaker, retries, perAttempt);

  metrics.breaker.set({ dependency: name }, breaker.state);
  breaker.onStateChange((state) => {
    metrics.breaker.set({ dependency: name }, state);
    logger.warn("circuit breaker state changed", { dependency: name, state: stateNames[state] });
  });
  retries.onRetry(() => metrics.retries.inc({ dependency: name }));
  const retryAfterS = Math.max(1, Math.ceil(options.halfOpenAfterMs / 1000));

  return {
    name,
    state: () => stateNames[breaker.state],
    async execute<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T> {
      try {
        return await policy.execute(async ({ signal }) => {
          const started = performance.now();
          try {
            await faults.inject(name);
            const result = await call(signal);
            metrics.calls.observe({ dependency: name, outcome: "ok" }, (performance.now() - started) / 1000);
            return result;
          } catch (err) {
            metrics.calls.observe(
              { dependency: name, outcome: "error" },
              (performance.now() - started) / 1000,
            );
            throw err;
          }
        });
      } catch (err) {
        if (err instanceof BrokenCircuitError || err instanceof IsolatedCircuitError) {
          metrics.errors.inc({ dependency: name, kind: "circuit_open" });
          throw unavailable(`${name} is unavailable (circuit open)`, retryAfterS);
        }
        const kind =
          err instanceof TaskCancelledError ? "timeout" : options.isTransient(err) ? "transient" : "other";
        metrics.errors.inc({ dependency: name, kind });
        if (kind !== "other") throw unavailable(`${name} did not answer: ${(err as Error).message}`, 1);
        throw err;
      }
    },
  };
}
