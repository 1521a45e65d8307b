/**
 * The yardstick: a bare Bun.serve answering GET /products/{id} from a Map of the same product
 * objects shop holds, serialised per request as shop does, and nothing else.
 */
import { demoProduct } from "../src/domain/products.ts";

const count = Number(process.env.PRODUCTS ?? 10_000);
const products = new Map<number, ReturnType<typeof demoProduct>>();
for (let id = 1; id <= count; id++) products.set(id, demoProduct(id));

Bun.serve({
  port: Number(process.env.PORT ?? 8081),
  hostname: "127.0.0.1",
  fetch(req) {
    const path = new URL(req.url).pathname;
    const product = products.get(Number(path.slice("/products/".length)));
    return product ? Response.json(product) : Response.json({ error: "NOT_FOUND" }, { status: 404 });
  },
});
