/**
 * Fault injection per dependency. Faults fire inside the dependency call (see policy.ts), so the
 * retry and the breaker see them exactly as they would see a real outage.
 */
import { sleep } from "../util/time.ts";

export interface FaultSpec {
  /** Probability 0..1 that a call fails with a retryable error. */
  error?: number;
  /** Added delay per call, in ms. */
  latencyMs?: number;
}

export class FaultSyntaxError extends Error {
  override name = "FaultSyntaxError";
}

/** Raised by an injected fault; retryable like a network error. */
export class InjectedFault extends Error {
  override name = "InjectedFault";
  constructor(readonly dependency: string) {
    super(`injected fault in ${dependency}`);
  }
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s)?$/;

function parseDuration(text: string): number {
  const m = DURATION.exec(text);
  if (!m) throw new FaultSyntaxError(`"${text}" is not a duration like 200ms or 1.5s`);
  const n = Number(m[1]);
  return m[2] === "s" ? n * 1000 : n;
}

/**
 * `dep:kind=value[,dep:kind=value…]`, kinds `error` (probability 0..1) and `latency` (200ms, 1s).
 * Example: `dynamodb:error=0.5,redis:latency=200ms`.
 */
export function parseFaults(text: string): Map<string, FaultSpec> {
  const out = new Map<string, FaultSpec>();
  for (const part of text.split(",").map((p) => p.trim())) {
    if (part === "") continue;
    const m = /^([a-z][a-z0-9_-]*):(error|latency)=(.+)$/.exec(part);
    if (!m) throw new FaultSyntaxError(`"${part}" is not dep:error=P or dep:latency=DURATION`);
    const [, dep = "", kind, value = ""] = m;
    const spec = out.get(dep) ?? {};
    if (kind === "error") {
      const p = Number(value);
      if (!/^\d*\.?\d+$/.test(value) || p < 0 || p > 1) {
        throw new FaultSyntaxError(`error probability "${value}" for ${dep} is not in 0..1`);
      }
      spec.error = p;
    } else {
      spec.latencyMs = parseDuration(value);
    }
    out.set(dep, spec);
  }
  return out;
}

export class Faults {
  private readonly specs: Map<string, FaultSpec>;

  constructor(
    initial: Map<string, FaultSpec> = new Map(),
    private readonly random: () => number = Math.random,
  ) {
    this.specs = new Map(initial);
  }

  all(): Record<string, FaultSpec> {
    return Object.fromEntries(this.specs);
  }

  /** The faults in the FAULTS grammar, so what GET /admin/faults shows can be PUT back as is. */
  format(): string {
    const parts: string[] = [];
    for (const [dep, spec] of this.specs) {
      if (spec.error !== undefined) parts.push(`${dep}:error=${spec.error}`);
      if (spec.latencyMs !== undefined) parts.push(`${dep}:latency=${spec.latencyMs}ms`);
    }
    return parts.join(",");
  }

  replace(specs: Map<string, FaultSpec>): void {
    this.specs.clear();
    for (const [dep, spec] of specs) this.specs.set(dep, spec);
  }

  set(dependency: string, spec: FaultSpec): void {
    this.specs.set(dependency, spec);
  }

  clear(dependency?: string): void {
    if (dependency === undefined) this.specs.clear();
    else this.specs.delete(dependency);
  }

  /** Called first thing inside every guarded dependency call. */
  async inject(dependency: string): Promise<void> {
    const spec = this.specs.get(dependency);
    if (!spec) return;
    if (spec.latencyMs) await sleep(spec.latencyMs);
    if (spec.error && this.random() < spec.error) throw new InjectedFault(dependency);
  }
}
