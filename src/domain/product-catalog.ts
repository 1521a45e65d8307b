/**
 * Reading and writing products with an optional cache in front of the store (cache-aside). The rules:
 * - a read looks in the cache first; on a miss it reads the store and fills the cache, 404s included;
 * - concurrent reads of one id in this process share one lookup (single flight), so a stampede on a
 *   cold key costs one store read;
 * - a write deletes the cached entry after the store acknowledged it, and a fill only lands while the
 *   lease taken at the miss still holds, so a read that began before a write cannot put the old value
 *   back after it (the write's delete removed the lease);
 * - the cache never fails a read: any cache error means BYPASS, straight to the store. An entry whose
 *   delete failed is bypassed in this process until a later delete succeeds.
 */
import type { Product, ProductStore } from "./products.ts";

export type CacheStatus = "HIT" | "MISS" | "BYPASS";

export type CacheLookup =
  /** `product` undefined: a cached 404. */
  | { kind: "hit"; product: Product | undefined }
  /** `lease` set: this reader fills the entry; undefined: another reader holds the lease. */
  | { kind: "miss"; lease: string | undefined };

/** What the catalog needs from a cache; every method may throw when the cache is unreachable. */
export interface ProductCache {
  lookup(id: number): Promise<CacheLookup>;
  /** Stores the store's answer for `id`, but only while `lease` is still the entry's value. */
  fill(id: number, product: Product | undefined, lease: string): Promise<void>;
  invalidate(id: number): Promise<void>;
}

export interface ProductRead {
  product: Product | undefined;
  /** Undefined when no cache is configured. */
  cache: CacheStatus | undefined;
}

export class ProductCatalog {
  private readonly flights = new Map<number, Promise<ProductRead>>();
  /** Ids whose cache delete failed: their cached entry may be stale. */
  private readonly unflushed = new Set<number>();

  constructor(
    private readonly store: ProductStore,
    private readonly cache: ProductCache | undefined,
    private readonly onCacheError: (err: unknown) => void = () => {},
  ) {}

  /** Synchronous when there is no cache and the store answers from memory (`getNow`). */
  get(id: number): ProductRead | Promise<ProductRead> {
    const cache = this.cache;
    if (!cache) {
      if (this.store.getNow) return { product: this.store.getNow(id), cache: undefined };
      return this.store.get(id).then((product) => ({ product, cache: undefined }));
    }
    const joined = this.flights.get(id);
    if (joined) return joined;
    const flight: Promise<ProductRead> = this.read(id, cache).finally(() => {
      if (this.flights.get(id) === flight) this.flights.delete(id);
    });
    this.flights.set(id, flight);
    return flight;
  }

  async put(product: Product): Promise<void> {
    const id = product.product_id;
    await this.store.put(product);
    if (!this.cache) return;
    try {
      await this.cache.invalidate(id);
      this.unflushed.delete(id);
    } catch (err) {
      this.unflushed.add(id);
      this.onCacheError(err);
    } finally {
      // A read in flight may have seen the old value; readers arriving after this write start afresh.
      this.flights.delete(id);
    }
  }

  private async read(id: number, cache: ProductCache): Promise<ProductRead> {
    let lookup: CacheLookup;
    try {
      if (this.unflushed.has(id)) {
        await cache.invalidate(id);
        this.unflushed.delete(id);
      }
      lookup = await cache.lookup(id);
    } catch (err) {
      this.onCacheError(err);
      return { product: await this.store.get(id), cache: "BYPASS" };
    }
    if (lookup.kind === "hit") return { product: lookup.product, cache: "HIT" };
    const product = await this.store.get(id);
    if (lookup.lease !== undefined) {
      try {
        await cache.fill(id, product, lookup.lease);
      } catch (err) {
        this.onCacheError(err);
      }
    }
    return { product, cache: "MISS" };
  }
}
