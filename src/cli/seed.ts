/**
 * `shop seed --products N …`: loads demo data into whatever stores the environment configures, through
 * the same modules the server uses (so cached entries are invalidated too). One seeder per flag of
 * SEED_TARGETS in args.ts; TypeScript makes sure every flag has one.
 */
import type { Config } from "../config.ts";
import { demoProduct } from "../domain/products.ts";
import { ModuleManager } from "../modules/graph.ts";
import { type Environment, type ModuleName, type Modules, moduleTable } from "../modules/registry.ts";
import type { SeedTarget } from "./args.ts";

interface Seeder {
  /** The modules the seeder reads with `get`. */
  modules: readonly ModuleName[];
  /** Where the data goes, for the summary line. */
  destination(config: Config): string;
  /** Writes items 1..count, calling `progress` with the number done so far. */
  run(get: ModuleManager<Modules>["get"], count: number, progress: (done: number) => void): Promise<void>;
}

/** Enough parallel writes to keep a remote store busy without tripping its throttling. */
const CONCURRENCY = 16;

async function forEachParallel(
  count: number,
  work: (i: number) => Promise<void>,
  progress: (done: number) => void,
) {
  let next = 1;
  let done = 0;
  const worker = async () => {
    while (next <= count) {
      const i = next++;
      await work(i);
      progress(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, worker));
}

export const SEEDERS: Record<SeedTarget, Seeder> = {
  products: {
    modules: ["productCatalog"],
    destination: (config) =>
      config.PRODUCTS_TABLE
        ? `DynamoDB table ${config.PRODUCTS_TABLE}`
        : "the in-memory store of this process (gone when it exits: set PRODUCTS_TABLE)",
    run: async (get, count, progress) => {
      const catalog = get("productCatalog");
      await forEachParallel(count, (id) => catalog.put(demoProduct(id)), progress);
    },
  },
};

export interface SeedOutput {
  /** True on a terminal: a live progress bar instead of only the summary. */
  tty: boolean;
  write(text: string): void;
}

const BAR_WIDTH = 30;

function progressBar(out: SeedOutput, label: string, total: number): (done: number) => void {
  if (!out.tty) return () => {};
  let last = -1;
  return (done) => {
    const filled = Math.floor((done / total) * BAR_WIDTH);
    // Redrawing on every write would cost more than the write on a fast store.
    if (filled === last && done !== total) return;
    last = filled;
    const bar = "#".repeat(filled) + "-".repeat(BAR_WIDTH - filled);
    out.write(`\r${label} [${bar}] ${done}/${total}${done === total ? "\n" : ""}`);
  };
}

export async function seed(
  counts: Partial<Record<SeedTarget, number>>,
  environment: Environment,
  out: SeedOutput,
): Promise<void> {
  const targets = (Object.keys(SEEDERS) as SeedTarget[]).filter((t) => counts[t] !== undefined);
  const roots = [...new Set(targets.flatMap((t) => SEEDERS[t].modules))];
  let failure: unknown;
  const manager = new ModuleManager(moduleTable(environment), roots, (_module, err) => {
    failure ??= err;
  });
  await manager.init();
  await manager.start();
  try {
    const config = manager.get("config");
    for (const target of targets) {
      const seeder = SEEDERS[target];
      const count = counts[target] ?? 0;
      const started = performance.now();
      await seeder.run((name) => manager.get(name), count, progressBar(out, target, count));
      if (failure !== undefined) throw failure;
      const seconds = (performance.now() - started) / 1000;
      out.write(
        `seeded ${count} ${target} into ${seeder.destination(config)} in ${seconds.toFixed(1)} s ` +
          `(${Math.round(count / Math.max(seconds, 1e-3))}/s)\n`,
      );
    }
  } finally {
    await manager.stop(() => {});
  }
}
