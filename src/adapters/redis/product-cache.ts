/**
 * The product cache in Redis. One key per product holds either the product's JSON, the 404 marker, or a
 * lease (a random token) while one reader fetches the product from the store. See
 * src/domain/product-catalog.ts for why the lease exists.
 */
import type { CacheLookup, ProductCache } from "../../domain/product-catalog.ts";
import type { Product } from "../../domain/products.ts";
import type { RedisConnection } from "./client.ts";

const ABSENT = "404";
const LEASE = "lease:";
/** Longer than any store read under its policy (3 attempts of 1 s plus backoff), so a lease outlives its reader. */
const LEASE_MS = 5000;

/** SET only while the key still holds the caller's lease: a write in between deleted it. */
const FILL_IF_LEASED = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
return false`;

export class RedisProductCache implements ProductCache {
  constructor(
    private readonly redis: RedisConnection,
    private readonly ttlS: number,
    private readonly negativeTtlS: number,
  ) {}

  private key(id: number): string {
    return this.redis.key(`product:${id}`);
  }

  async lookup(id: number): Promise<CacheLookup> {
    const { client, policy } = this.redis;
    const key = this.key(id);
    const cached = await policy.execute(() => client.get(key));
    if (cached === null) {
      const lease = LEASE + crypto.randomUUID();
      const won = await policy.execute(() =>
        client.set(key, lease, { condition: "NX", expiration: { type: "PX", value: LEASE_MS } }),
      );
      return { kind: "miss", lease: won === null ? undefined : lease };
    }
    if (cached.startsWith(LEASE)) return { kind: "miss", lease: undefined };
    if (cached === ABSENT) return { kind: "hit", product: undefined };
    return { kind: "hit", product: JSON.parse(cached) as Product };
  }

  async fill(id: number, product: Product | undefined, lease: string): Promise<void> {
    const value = product ? JSON.stringify(product) : ABSENT;
    const ttl = product ? this.ttlS : this.negativeTtlS;
    const { client, policy } = this.redis;
    await policy.execute(() =>
      client.eval(FILL_IF_LEASED, { keys: [this.key(id)], arguments: [lease, value, String(ttl)] }),
    );
  }

  async invalidate(id: number): Promise<void> {
    const { client, policy } = this.redis;
    await policy.execute(() => client.del(this.key(id)));
  }
}
