/** Inits of products: the store, the optional Redis cache in front of it, the catalog and its routes. */
import { DynamoProductStore } from "../../adapters/dynamodb/products.ts";
import { MemoryProductStore } from "../../adapters/memory/products.ts";
import { RedisProductCache } from "../../adapters/redis/product-cache.ts";
import { ProductCatalog } from "../../domain/product-catalog.ts";
import { errorFields } from "../../observability/log.ts";
import { registerProductRoutes } from "../../routes/products/handlers.ts";
import { tableOf } from "../deps.ts";
import type { AreaInits } from "../registry.ts";

export const productInits = {
  productStore: ({ get }) => {
    const table = get("config")[tableOf("productStore")];
    const db = get("dynamodb");
    return { value: table && db ? new DynamoProductStore(db, table) : new MemoryProductStore() };
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

  productsApi: ({ get }) => {
    registerProductRoutes(get("http"), get("productCatalog"), get("metrics").registry);
    return { value: undefined };
  },
} satisfies AreaInits;
