/**
 * Inits of products: the store, the optional Redis cache in front of it, the catalog and its routes. The
 * DynamoDB store and the routes are imported when used (see platform.ts).
 */
import { MemoryProductStore } from "../../adapters/memory/products.ts";
import { RedisProductCache } from "../../adapters/redis/product-cache.ts";
import { ProductCatalog } from "../../domain/product-catalog.ts";
import { errorFields } from "../../observability/log.ts";
import { tableOf } from "../deps.ts";
import type { AreaInits } from "../registry.ts";

export const productInits = {
  productStore: async ({ get }) => {
    const table = get("config")[tableOf("productStore")];
    const db = get("dynamodb");
    if (!table || !db) return { value: new MemoryProductStore() };
    const { DynamoProductStore } = await import("../../adapters/dynamodb/products.ts");
    return { value: new DynamoProductStore(db, table) };
  },

  productCache: ({ get }) => {
    const redis = get("redis");
    const config = get("config");
    return {
      value: redis
        ? new RedisProductCache(redis, config.PRODUCT_CACHE_TTL_S, config.PRODUCT_CACHE_NEGATIVE_TTL_S)
        : undefined,
    };
  },

  productCatalog: ({ get }) => {
    const logger = get("logger");
    // Cache failures are counted by the redis policy's metrics; the line is for debugging one request.
    const onCacheError = (err: unknown) => logger.debug("product cache bypassed", errorFields(err));
    return { value: new ProductCatalog(get("productStore"), get("productCache"), onCacheError) };
  },

  productsApi: async ({ get }) => {
    const { registerProductRoutes } = await import("../../routes/products/handlers.ts");
    registerProductRoutes(get("http"), get("productCatalog"), get("metrics").registry);
    return { value: undefined };
  },
} satisfies AreaInits;
