import type { InventoryStore, StockResult } from "../../domain/inventory.ts";
import { fromCents, toCents } from "../../domain/money.ts";
import { DomainError, notFound } from "../../domain/outcomes.ts";
import { adminAuth } from "../../http/admin-auth.ts";
import type { HttpCore } from "../../http/app.ts";
import { getStock, reserve, setStock, ship } from "./routes.ts";

function answer(result: StockResult, productId: number, what: "available" | "reserved"): void {
  if (result === "not_found") throw notFound(`product ${productId} has no stock record`);
  if (result === "insufficient") {
    throw new DomainError("INSUFFICIENT_STOCK", `not enough ${what} stock for product ${productId}`);
  }
}

export function registerWarehouseRoutes(
  { app, handle }: HttpCore,
  inventory: InventoryStore,
  adminToken: string | undefined,
) {
  handle(reserve, async (c, { body: { product_id, quantity } }) => {
    answer(await inventory.reserve(product_id, quantity), product_id, "available");
    return c.body(null, 204);
  });

  handle(ship, async (c, { body: { product_id, quantity } }) => {
    answer(await inventory.ship(product_id, quantity), product_id, "reserved");
    return c.body(null, 204);
  });

  const guard = adminAuth(adminToken);
  app.use("/warehouse/stock/:productId", async (c, next) =>
    c.req.method === "PUT" ? guard(c, next) : next(),
  );
  handle(setStock, async (c, { params: { productId }, body: { quantity, price } }) => {
    await inventory.setStock(productId, quantity, price === undefined ? undefined : toCents(price));
    return c.body(null, 204);
  });

  handle(getStock, async (c, { params: { productId } }) => {
    const stock = await inventory.get(productId);
    if (!stock) throw notFound(`product ${productId} has no stock record`);
    const { price_cents, ...rest } = stock;
    return c.json({ ...rest, ...(price_cents === undefined ? {} : { price: fromCents(price_cents) }) }, 200);
  });
}
