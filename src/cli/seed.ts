/**
 * `shop seed --products N …`: loads demo data into whatever stores the environment configures, through
 * the same modules the server uses (so cached entries are invalidated too). One seeder per flag of
 * SEED_TARGETS in args.ts; TypeScript makes sure every flag has one.
 */
import type { Config } from "../config.ts";
import { demoProduct } from "../domain/products.ts";
import type { ModuleManager } from "../modules/graph.ts";
import { createModules, type Environment, type ModuleName, type Modules } from "../modules/registry.ts";
import { seedStock } from "../services/seed-stock.ts";
import type { SeedTarget } from "./args.ts";

type Counts = Partial<Record<SeedTarget, number>>;

interface Seeder {
  /** The modules the seeder reads with `get`. */
  modules: readonly ModuleName[];
  /** Where the data goes, for the summary line. */
  destination(config: Config): string;
  /** How many writes `run` makes, and what they are, for the progress bar and the summary line. */
  items(counts: Counts): number;
  describe(counts: Counts): string;
  /** Writes its items, calling `progress` with the number done so far. */
  run(get: ModuleManager<Modules>["get"], counts: Counts, progress: (done: number) => void): Promise<void>;
}

/** Products `--stock` stocks when the same command does not seed products: the demo catalogue's head. */
const DEFAULT_STOCKED_PRODUCTS = 1000;

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
    items: (counts) => counts.products ?? 0,
    describe: (counts) => `${counts.products ?? 0} products`,
    run: async (get, counts, progress) => {
      const catalog = get("productCatalog");
      await forEachParallel(counts.products ?? 0, (id) => catalog.put(demoProduct(id)), progress);
    },
  },
  stock: {
    modules: ["inventoryStore"],
    destination: (config) =>
      config.INVENTORY_TABLE
        ? `DynamoDB table ${config.INVENTORY_TABLE}`
        : "the in-memory store of this process (gone when it exits: set INVENTORY_TABLE)",
    items: (counts) => counts.products ?? DEFAULT_STOCKED_PRODUCTS,
    describe: (counts) =>
      `${counts.stock ?? 0} units of stock for each of products 1..${counts.products ?? DEFAULT_STOCKED_PRODUCTS}`,
    run: async (get, counts, progress) => {
      await seedStock(get("inventoryStore"), {
        products: counts.products ?? DEFAULT_STOCKED_PRODUCTS,
        quantity: counts.stock ?? 0,
        onProgress: progress,
      });
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
  const manager = createModules(environment, roots, (_module, err) => {
    failure ??= err;
  });
  await manager.init();
  await manager.start();
  try {
    const config = manager.get("config");
    for (const target of targets) {
      const seeder = SEEDERS[target];
      const items = seeder.items(counts);
      const started = performance.now();
      await seeder.run((name) => manager.get(name), counts, progressBar(out, target, items));
      if (failure !== undefined) throw failure;
      const seconds = (performance.now() - started) / 1000;
      out.write(
        `seeded ${seeder.describe(counts)} into ${seeder.destination(config)} in ${seconds.toFixed(1)} s ` +
          `(${Math.round(items / Math.max(seconds, 1e-3))} writes/s)\n`,
      );
    }
  } finally {
    await manager.stop(() => {});
  }
}
