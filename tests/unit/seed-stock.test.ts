import { expect, test } from "bun:test";
import { MemoryInventoryStore } from "../../src/adapters/memory/inventory.ts";
import { demoPriceCents, seedStock } from "../../src/services/seed-stock.ts";

test("seedStock stocks products 1..N with N units at the demo price, keeping reservations", async () => {
  const store = new MemoryInventoryStore();
  await store.setStock(3, 5);
  expect(await store.reserve(3, 2)).toBe("ok");
  const progress: number[] = [];
  expect(await seedStock(store, { products: 50, quantity: 100, onProgress: (n) => progress.push(n) })).toBe(
    50,
  );
  expect(progress.at(-1)).toBe(50);
  expect(await store.get(1)).toEqual({
    product_id: 1,
    available: 100,
    reserved: 0,
    shipped: 0,
    price_cents: demoPriceCents(1),
  });
  expect(await store.get(3)).toMatchObject({ available: 100, reserved: 2 });
  expect(await store.get(51)).toBeUndefined();
  expect(demoPriceCents(1)).toBeGreaterThanOrEqual(100);
});
