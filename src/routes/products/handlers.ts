import type { Context } from "hono";
import { Counter, type Registry } from "prom-client";
import { invalidInput, notFound } from "../../domain/outcomes.ts";
import type { CacheStatus, ProductCatalog, ProductRead } from "../../domain/product-catalog.ts";
import type { AppEnv, HttpCore } from "../../http/app.ts";
import { addProductDetails, getProduct } from "./routes.ts";

export function registerProductRoutes(
  { handle }: HttpCore,
  catalog: ProductCatalog,
  registry: Registry,
): void {
  const cacheResults = new Counter({
    name: "product_cache_requests_total",
    help: "Product reads by cache result: hit, miss (filled from the store) or bypass (cache unavailable)",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  const results: Record<CacheStatus, Counter.Internal> = {
    HIT: cacheResults.labels("hit"),
    MISS: cacheResults.labels("miss"),
    BYPASS: cacheResults.labels("bypass"),
  };

  const answer = (c: Context<AppEnv>, id: number, { product, cache }: ProductRead): Response => {
    if (cache) {
      results[cache].inc();
      c.header("X-Cache", cache);
    }
    if (!product) throw notFound(`product ${id} not found`);
    // The runtime's native Response.json: the hottest path in the service, measurably cheaper than c.json.
    return cache ? Response.json(product, { headers: { "X-Cache": cache } }) : Response.json(product);
  };

  // Not async: a read the catalog answers synchronously (memory store, no cache) builds no promise.
  handle(getProduct, (c, { params }) => {
    const read = catalog.get(params.productId);
    return read instanceof Promise
      ? read.then((r) => answer(c, params.productId, r))
      : answer(c, params.productId, read);
  });

  handle(addProductDetails, async (c, { params, body }) => {
    if (body.product_id !== params.productId) {
      throw invalidInput(
        "product_id in the body differs from the path",
        `product_id: ${body.product_id} does not match path productId ${params.productId}`,
      );
    }
    await catalog.put(body);
    return c.body(null, 204);
  });
}
