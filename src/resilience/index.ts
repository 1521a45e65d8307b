import type { Registry } from "prom-client";
import type { Logger } from "../observability/log.ts";
import { Faults, parseFaults } from "./faults.ts";
import {
  createPolicy,
  createResilienceMetrics,
  type DependencyPolicy,
  type PolicyOptions,
} from "./policy.ts";

/** The process's fault injector and its per-dependency policies (one breaker per dependency, shared). */
export interface Resilience {
  faults: Faults;
  /** The policy of `dependency`, created on first use with `options`. */
  policy(dependency: string, options: PolicyOptions): DependencyPolicy;
  /** Breaker state per dependency, for /ready. */
  states(): Record<string, string>;
}

export function createResilience(
  faultsText: string | undefined,
  registry: Registry,
  logger: Logger,
): Resilience {
  const faults = new Faults(parseFaults(faultsText ?? ""));
  const metrics = createResilienceMetrics(registry);
  const policies = new Map<string, DependencyPolicy>();
  return {
    faults,
    policy(dependency, options) {
      let p = policies.get(dependency);
      if (!p) {
        p = createPolicy(dependency, options, { faults, metrics, logger });
        policies.set(dependency, p);
      }
      return p;
    },
    states: () => Object.fromEntries([...policies.values()].map((p) => [p.name, p.state()])),
  };
}
