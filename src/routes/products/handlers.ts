import type { Counter } from "prom-client";
import type { CacheStatus, ProductCatalog } from "../../domain/product-catalog.ts";
import type { App } from "../../http/app.ts";
import { invalidInput, notFound } from "../../http/errors.ts";
import { addProductDetails, getProduct } from "./routes.ts";

export function registerProductRoutes(
  app: App,
  catalog: ProductCatalog,
  cacheResults: Counter<"result">,
): void {
  const results: Record<CacheStatus, Counter.Internal> = {
    HIT: cacheResults.labels("hit"),
    MISS: cacheResults.labels("miss"),
    BYPASS: cacheResults.labels("bypass"),
  };

  app.openapi(getProduct, async (c) => {
    const { productId } = c.req.valid("param");
    const { product, cache } = await catalog.get(productId);
    if (cache) {
      results[cache].inc();
      c.header("X-Cache", cache);
    }
    if (!product) throw notFound(`product ${productId} not found`);
    return c.json(product, 200);
  });

  app.openapi(addProductDetails, async (c) => {
    const { productId } = c.req.valid("param");
    const product = c.req.valid("json");
    if (product.product_id !== productId) {
      throw invalidInput(
        "product_id in the body differs from the path",
        `product_id: ${product.product_id} does not match path productId ${productId}`,
      );
    }
    await catalog.put(product);
    return c.body(null, 204);
  });
}
