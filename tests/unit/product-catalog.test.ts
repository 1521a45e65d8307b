import { describe, expect, test } from "bun:test";
import { type CacheLookup, type ProductCache, ProductCatalog } from "../../src/domain/product-catalog.ts";
import { demoProduct, type Product, type ProductStore } from "../../src/domain/products.ts";

/** The Redis adapter's semantics in memory: entries, leases taken with SET NX, fills only under the lease. */
class FakeCache implements ProductCache {
  readonly entries = new Map<number, { product: Product | undefined } | { lease: string }>();
  failing = false;
  private leases = 0;

  private check() {
    if (this.failing) throw new Error("cache down");
  }

  async lookup(id: number): Promise<CacheLookup> {
    this.check();
    const entry = this.entries.get(id);
    if (entry && "product" in entry) return { kind: "hit", product: entry.product };
    if (entry) return { kind: "miss", lease: undefined };
    const lease = `lease-${++this.leases}`;
    this.entries.set(id, { lease });
    return { kind: "miss", lease };
  }

  async fill(id: number, product: Product | undefined, lease: string): Promise<void> {
    this.check();
    const entry = this.entries.get(id);
    if (entry && "lease" in entry && entry.lease === lease) this.entries.set(id, { product });
  }

  async invalidate(id: number): Promise<void> {
    this.check();
    this.entries.delete(id);
  }
}

/** A store whose reads can be held until the test releases them, to stage races deterministically. */
class GatedStore implements ProductStore {
  readonly products = new Map<number, Product>();
  reads = 0;
  private gate: Promise<void> | undefined;
  private open: () => void = () => {};

  hold(): void {
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }

  release(): void {
    this.gate = undefined;
    this.open();
  }

  async get(id: number): Promise<Product | undefined> {
    this.reads++;
    const snapshot = this.products.get(id);
    await this.gate;
    return snapshot;
  }

  async put(product: Product): Promise<void> {
    this.products.set(product.product_id, product);
  }
}

const v = (weight: number): Product => ({ ...demoProduct(7), weight });
const tick = () => new Promise((r) => setTimeout(r, 0));

describe("ProductCatalog (cache-aside rules)", () => {
  test("a miss fills, the next read hits, a write invalidates", async () => {
    const store = new GatedStore();
    const catalog = new ProductCatalog(store, new FakeCache());
    await catalog.put(v(1));
    expect(await catalog.get(7)).toEqual({ product: v(1), cache: "MISS" });
    expect(await catalog.get(7)).toEqual({ product: v(1), cache: "HIT" });
    await catalog.put(v(2));
    expect(await catalog.get(7)).toEqual({ product: v(2), cache: "MISS" });
  });

  test("a read that saw the old value before a write cannot cache it after the write", async () => {
    const store = new GatedStore();
    const cache = new FakeCache();
    const catalog = new ProductCatalog(store, cache);
    await catalog.put(v(1));
    store.hold();
    const early = catalog.get(7); // takes the lease, reads v1, waits
    await tick();
    await catalog.put(v(2)); // acknowledged: deletes the lease
    store.release();
    expect((await early).product).toEqual(v(1)); // concurrent with the write: either answer is fine
    expect(cache.entries.has(7)).toBe(false); // but v1 did not land in the cache
    expect((await catalog.get(7)).product).toEqual(v(2));
  });

  test("a read arriving after a write does not join a read that began before it", async () => {
    const store = new GatedStore();
    const catalog = new ProductCatalog(store, new FakeCache());
    await catalog.put(v(1));
    store.hold();
    const early = catalog.get(7);
    await tick();
    await catalog.put(v(2));
    const late = catalog.get(7);
    store.release();
    await early;
    expect((await late).product).toEqual(v(2));
  });

  test("concurrent reads of a cold key share one store read", async () => {
    const store = new GatedStore();
    const catalog = new ProductCatalog(store, new FakeCache());
    await catalog.put(v(1));
    store.hold();
    const reads = Array.from({ length: 20 }, () => catalog.get(7));
    store.release();
    const results = await Promise.all(reads);
    expect(store.reads).toBe(1);
    expect(results.every((r) => r.product?.weight === 1)).toBe(true);
  });

  test("404s are cached too", async () => {
    const store = new GatedStore();
    const catalog = new ProductCatalog(store, new FakeCache());
    expect(await catalog.get(7)).toEqual({ product: undefined, cache: "MISS" });
    expect(await catalog.get(7)).toEqual({ product: undefined, cache: "HIT" });
    expect(store.reads).toBe(1);
  });

  test("a cache failure bypasses to the store and is reported", async () => {
    const store = new GatedStore();
    const cache = new FakeCache();
    const errors: unknown[] = [];
    const catalog = new ProductCatalog(store, cache, (err) => errors.push(err));
    await catalog.put(v(1));
    cache.failing = true;
    expect(await catalog.get(7)).toEqual({ product: v(1), cache: "BYPASS" });
    expect(errors).toHaveLength(1);
  });

  test("after a failed invalidation the entry is not trusted until a delete succeeds", async () => {
    const store = new GatedStore();
    const cache = new FakeCache();
    const catalog = new ProductCatalog(store, cache);
    await catalog.put(v(1));
    await catalog.get(7); // cached v1
    cache.failing = true;
    await catalog.put(v(2)); // store has v2; the delete failed, v1 is still cached
    cache.failing = false;
    expect(await catalog.get(7)).toEqual({ product: v(2), cache: "MISS" });
    expect(await catalog.get(7)).toEqual({ product: v(2), cache: "HIT" });
  });

  test("without a cache reads go straight to the store with no cache status", async () => {
    const store = new GatedStore();
    const catalog = new ProductCatalog(store, undefined);
    await catalog.put(v(1));
    expect(await catalog.get(7)).toEqual({ product: v(1), cache: undefined });
  });
});
