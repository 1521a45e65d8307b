/**
 * A dependency graph of modules in the manner of Grafana Mimir / dskit `modules`: one map names what
 * every module needs, and each module with a value has an init returning it plus an optional
 * lifecycle. Modules are initialised once, started in dependency order and stopped in reverse. This
 * file imports nothing, so the map can be resolved anywhere (terraform/ reads role needs from it).
 */

export interface Lifecycle {
  start?(): Promise<void> | void;
  stop?(): Promise<void> | void;
  /**
   * Readiness probe; throws (or rejects) with the reason when the dependency does not answer. What it
   * returns (e.g. breaker states) is shown in the /ready body.
   */
  ready?(): unknown;
}

export interface Readiness {
  failures: Record<string, string>;
  checks: Record<string, unknown>;
}

export interface Built<V> extends Lifecycle {
  value: V;
}

/** Every module's dependencies by name: the process's wiring as one literal table (src/modules/deps.ts). */
export type DepsMap<N extends string> = { readonly [K in N]: readonly N[] };

export interface InitContext<M, D extends keyof M = keyof M> {
  /** The value of a declared dependency. */
  get<N extends D & string>(name: N): M[N];
  /**
   * Whether `module` runs in this process (it is in the dependency closure of the roles started): the
   * graph, not a flag set by another module, says who shares in-process state.
   */
  runs(module: keyof M & string): boolean;
  /** Reports a failure after start: the process stops with a non-zero code. */
  fail(err: unknown): void;
}

export type Init<M, K extends keyof M, D extends keyof M = keyof M> = (
  ctx: InitContext<M, D>,
) => Built<M[K]> | Promise<Built<M[K]>>;

/** The init of every module that has one; composite modules (roles) have none and only pull their deps in. */
export type Inits<M> = { [K in keyof M]?: Init<M, K> };

export class GraphError extends Error {
  override name = "GraphError";
}

/** Dependency-first order of every module reachable from `roots`, roots in the order given. */
export function resolveOrder<N extends string>(deps: DepsMap<N>, roots: readonly N[]): N[] {
  const order: N[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: N, path: string[]) => {
    const s = state.get(name);
    if (s === "done") return;
    if (s === "visiting") throw new GraphError(`dependency cycle: ${[...path, name].join(" -> ")}`);
    const needs = deps[name];
    if (!needs)
      throw new GraphError(`unknown module "${name}"${path.length ? ` (needed by ${path.at(-1)})` : ""}`);
    state.set(name, "visiting");
    for (const dep of needs) visit(dep, [...path, name]);
    state.set(name, "done");
    order.push(name);
  };
  for (const root of roots) visit(root, []);
  return order;
}

interface Running<M> {
  name: keyof M & string;
  built: Built<unknown> | undefined;
}

export class ModuleManager<M> {
  private readonly values = new Map<string, unknown>();
  private readonly running: Running<M>[] = [];
  private initialised: Running<M>[] = [];
  readonly order: (keyof M & string)[];
  private readonly selected: ReadonlySet<string>;

  constructor(
    private readonly deps: DepsMap<keyof M & string>,
    private readonly inits: Inits<M>,
    roots: readonly (keyof M & string)[],
    private readonly onFailure: (module: string, err: unknown) => void,
  ) {
    this.order = resolveOrder(deps, roots);
    this.selected = new Set(this.order);
  }

  get<D extends keyof M & string>(name: D): M[D] {
    if (!this.values.has(name)) throw new GraphError(`module "${name}" is not initialised`);
    return this.values.get(name) as M[D];
  }

  has(name: keyof M & string): boolean {
    return this.values.has(name);
  }

  async init(): Promise<void> {
    for (const name of this.order) {
      const init = this.inits[name] as Init<M, typeof name> | undefined;
      const allowed = new Set<string>(this.deps[name]);
      const ctx: InitContext<M> = {
        get: (dep) => {
          // Keeps declarations honest: a module may only reach what it declared.
          if (!allowed.has(dep)) throw new GraphError(`module "${name}" uses "${dep}" without declaring it`);
          return this.get(dep);
        },
        runs: (module) => this.selected.has(module),
        fail: (err) => this.onFailure(name, err),
      };
      let built: Built<unknown> | undefined;
      try {
        built = init ? await init(ctx) : undefined;
      } catch (err) {
        throw new ModuleError(name, "init", err);
      }
      this.values.set(name, built?.value);
      this.initialised.push({ name, built });
    }
  }

  async start(): Promise<void> {
    for (const entry of this.initialised) {
      try {
        await entry.built?.start?.();
      } catch (err) {
        throw new ModuleError(entry.name, "start", err);
      }
      this.running.push(entry);
    }
  }

  /** Stops started modules in reverse order; every module gets its stop even if an earlier one failed. */
  async stop(onError: (module: string, err: unknown) => void): Promise<void> {
    while (this.running.length > 0) {
      const entry = this.running.pop();
      if (!entry) break;
      try {
        await entry.built?.stop?.();
      } catch (err) {
        onError(entry.name, err);
      }
    }
  }

  /** Runs every readiness probe: the failing modules with their reasons, and what the others reported. */
  async readiness(timeoutMs: number): Promise<Readiness> {
    const failures: Record<string, string> = {};
    const checks: Record<string, unknown> = {};
    await Promise.all(
      this.initialised.map(async ({ name, built }) => {
        if (!built?.ready) return;
        let timer: ReturnType<typeof setTimeout> | undefined;
        try {
          checks[name] = await Promise.race([
            built.ready(),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
            }),
          ]);
        } catch (err) {
          failures[name] = err instanceof Error ? err.message : String(err);
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return { failures, checks };
  }
}

export class ModuleError extends Error {
  constructor(
    readonly module: string,
    readonly phase: "init" | "start",
    override readonly cause: unknown,
  ) {
    super(`module "${module}" failed to ${phase}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "ModuleError";
  }
}
