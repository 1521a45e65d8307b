/**
 * The second yardstick for bench/http.ts: a plain Hono app (the framework shop builds on) answering
 * GET /products/{id} from the same Map with a synchronous handler, and nothing else. The distance
 * from bare to this is the router's; the distance from this to shop is shop's own.
 */
import { Hono } from "hono";
import { demoProduct } from "../src/domain/products.ts";

const count = Number(process.env.PRODUCTS ?? 10_000);
const products = new Map<number, ReturnType<typeof demoProduct>>();
for (let id = 1; id <= count; id++) products.set(id, demoProduct(id));

const app = new Hono();
app.get("/products/:productId", (c) => {
  const product = products.get(Number(c.req.param("productId")));
  return product ? Response.json(product) : Response.json({ error: "NOT_FOUND" }, { status: 404 });
});

Bun.serve({ port: Number(process.env.PORT ?? 8082), hostname: "127.0.0.1", fetch: app.fetch });
