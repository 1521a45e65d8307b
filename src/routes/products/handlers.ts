import type { ProductStore } from "../../domain/products.ts";
import type { App } from "../../http/app.ts";
import { invalidInput, notFound } from "../../http/errors.ts";
import { addProductDetails, getProduct } from "./routes.ts";

export function registerProductRoutes(app: App, store: ProductStore): void {
  app.openapi(getProduct, async (c) => {
    const { productId } = c.req.valid("param");
    const product = await store.get(productId);
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
    await store.put(product);
    return c.body(null, 204);
  });
}
