import type { OrderPublisher } from "../domain/queue.ts";
import type { DependencyPolicy } from "../resilience/policy.ts";

/**
 * Runs every method of `target` under `policy`: one breaker and timeout for a whole store without a
 * wrapper per method. Stores answer business outcomes as values, so only outages reach the policy.
 */
export function guardAll<T extends object>(target: T, policy: DependencyPolicy): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value = Reflect.get(t, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => policy.execute(() => value.apply(t, args));
    },
  });
}

/** Publishing under a policy: queue faults are retried and feed the breaker like any dependency's. */
export function guardedPublisher(inner: OrderPublisher, policy: DependencyPolicy): OrderPublisher {
  return { publish: (body, attributes) => policy.execute(() => inner.publish(body, attributes)) };
}
