import type { InventoryStore } from "../domain/inventory.ts";

/** Deterministic demo unit price in cents (1.00 … 100.99), so carts and orders have totals. */
export function demoPriceCents(productId: number): number {
  return 100 + ((productId * 7919) % 10_000);
}

/**
 * `shop seed --stock N`: gives demo products 1..`products` N units each at their demo price, a few
 * writes at a time so a remote store is not flooded. Returns the number of products stocked.
 */
export async function seedStock(
  store: InventoryStore,
  options: { products: number; quantity: number; concurrency?: number; onProgress?: (done: number) => void },
): Promise<number> {
  const concurrency = options.concurrency ?? 16;
  let next = 1;
  let done = 0;
  const worker = async () => {
    while (next <= options.products) {
      const id = next++;
      await store.setStock(id, options.quantity, demoPriceCents(id));
      options.onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, options.products) }, worker));
  return done;
}
