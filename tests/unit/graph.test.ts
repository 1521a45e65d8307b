import { describe, expect, test } from "bun:test";
import {
  type DepsMap,
  GraphError,
  type Init,
  type Inits,
  ModuleError,
  ModuleManager,
  resolveOrder,
} from "../../src/modules/graph.ts";

interface M {
  a: string;
  b: string;
  c: string;
  role: undefined;
}

/** Deps and init side by side, as a test reads best; the manager takes them as the map and the inits. */
type ModuleTable<M> = { [K in keyof M & string]: { deps: readonly (keyof M & string)[]; init?: Init<M, K> } };

const depsOf = <M>(t: ModuleTable<M>): DepsMap<keyof M & string> =>
  Object.fromEntries(Object.entries(t).map(([k, d]) => [k, (d as { deps: string[] }).deps])) as never;

const manager = <M>(
  t: ModuleTable<M>,
  roots: (keyof M & string)[],
  onFailure: (m: string, e: unknown) => void,
) =>
  new ModuleManager<M>(
    depsOf(t),
    Object.fromEntries(Object.entries(t).map(([k, d]) => [k, (d as { init?: unknown }).init])) as Inits<M>,
    roots,
    onFailure,
  );

function table(events: string[], over: Partial<ModuleTable<M>> = {}): ModuleTable<M> {
  const mod = (name: string) => ({
    value: name,
    start: () => {
      events.push(`start ${name}`);
    },
    stop: () => {
      events.push(`stop ${name}`);
    },
  });
  return {
    a: { deps: [], init: () => mod("a") },
    b: { deps: ["a"], init: ({ get }) => ({ ...mod("b"), value: `b(${get("a")})` }) },
    c: { deps: ["a", "b"], init: () => mod("c") },
    role: { deps: ["c"] },
    ...over,
  };
}

describe("resolveOrder", () => {
  test("dependencies come before their dependents, each once", () => {
    expect(resolveOrder(depsOf(table([])), ["role"])).toEqual(["a", "b", "c", "role"]);
    expect(resolveOrder(depsOf(table([])), ["b", "c"])).toEqual(["a", "b", "c"]);
  });

  test("a cycle is reported with its path", () => {
    const t = table([], { a: { deps: ["c"], init: () => ({ value: "a" }) } });
    expect(() => resolveOrder(depsOf(t), ["role"])).toThrow(/cycle: c -> a -> c|cycle: .*a.*c/);
  });

  test("an unknown module is reported with who needs it", () => {
    const t = table([], { b: { deps: ["zzz" as "a"], init: () => ({ value: "b" }) } });
    expect(() => resolveOrder(depsOf(t), ["role"])).toThrow(GraphError);
  });
});

describe("ModuleManager", () => {
  test("initialises once, starts in dependency order and stops in reverse", async () => {
    const events: string[] = [];
    const m = manager(table(events), ["role"], () => {});
    await m.init();
    expect(m.get("b")).toBe("b(a)");
    await m.start();
    await m.stop(() => {});
    expect(events).toEqual(["start a", "start b", "start c", "stop c", "stop b", "stop a"]);
  });

  test("runs answers from the graph which modules this process runs", async () => {
    let seen: Record<string, boolean> = {};
    const t = table([], {
      b: {
        deps: ["a"],
        init: ({ runs }) => {
          seen = { a: runs("a"), c: runs("c"), role: runs("role") };
          return { value: "b" };
        },
      },
    });
    await manager(t, ["b"], () => {}).init();
    expect(seen).toEqual({ a: true, c: false, role: false });
    await manager(t, ["role"], () => {}).init();
    expect(seen).toEqual({ a: true, c: true, role: true });
  });

  test("a module may only use what it declared", async () => {
    const t = table([], { b: { deps: [], init: ({ get }) => ({ value: get("a") }) } });
    const m = manager(t, ["a", "b"], () => {});
    await expect(m.init()).rejects.toThrow(/uses "a" without declaring it/);
  });

  test("a start failure names the module and leaves the started ones stoppable", async () => {
    const events: string[] = [];
    const t = table(events, {
      b: {
        deps: ["a"],
        init: () => ({
          value: "b",
          start: () => {
            throw new Error("port in use");
          },
        }),
      },
    });
    const m = manager(t, ["role"], () => {});
    await m.init();
    const err = await m.start().catch((e) => e);
    expect(err).toBeInstanceOf(ModuleError);
    expect((err as ModuleError).message).toBe('module "b" failed to start: port in use');
    await m.stop(() => {});
    expect(events).toEqual(["start a", "stop a"]);
  });

  test("every module is stopped even when one stop fails", async () => {
    const events: string[] = [];
    const failures: string[] = [];
    const t = table(events, {
      b: {
        deps: ["a"],
        init: () => ({
          value: "b",
          stop: () => {
            throw new Error("stuck");
          },
        }),
      },
    });
    const m = manager(t, ["role"], () => {});
    await m.init();
    await m.start();
    await m.stop((name) => failures.push(name));
    expect(failures).toEqual(["b"]);
    expect(events).toContain("stop a");
  });

  test("a run-time failure reported by a module reaches the manager's handler", async () => {
    const failed: string[] = [];
    let report: (err: unknown) => void = () => {};
    const t = table([], {
      c: {
        deps: [],
        init: ({ fail }) => {
          report = fail;
          return { value: "c" };
        },
      },
    });
    const m = manager(t, ["role"], (name, err) => failed.push(`${name}: ${(err as Error).message}`));
    await m.init();
    report(new Error("consumer crashed"));
    expect(failed).toEqual(["c: consumer crashed"]);
  });

  test("readiness collects failures and reports with a timeout", async () => {
    const t = table([], {
      a: { deps: [], init: () => ({ value: "a", ready: () => ({ breaker: "closed" }) }) },
      b: {
        deps: [],
        init: () => ({
          value: "b",
          ready: () => {
            throw new Error("connection refused");
          },
        }),
      },
      c: { deps: [], init: () => ({ value: "c", ready: () => new Promise(() => {}) }) },
    });
    const m = manager(t, ["a", "b", "c"], () => {});
    await m.init();
    const r = await m.readiness(50);
    expect(r.failures).toEqual({ b: "connection refused", c: "no answer within 50 ms" });
    expect(r.checks.a).toEqual({ breaker: "closed" });
  });
});
