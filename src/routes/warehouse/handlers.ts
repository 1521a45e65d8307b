import type { InventoryStore, StockResult } from "../../domain/inventory.ts";
import { fromCents, toCents } from "../../domain/money.ts";
import { adminGuard } from "../../http/admin.ts";
import type { App } from "../../http/app.ts";
import { ApiError, notFound } from "../../http/errors.ts";
import { getStock, reserve, setStock, ship } from "./routes.ts";

function answer(result: StockResult, productId: number, what: "available" | "reserved"): void {
  if (result === "not_found") throw notFound(`product ${productId} has no stock record`);
  if (result === "insufficient") {
    throw new ApiError(400, "INSUFFICIENT_STOCK", `not enough ${what} stock for product ${productId}`);
  }
}

export function registerWarehouseRoutes(app: App, inventory: InventoryStore, adminToken: string | undefined) {
  app.openapi(reserve, async (c) => {
    const { product_id, quantity } = c.req.valid("json");
    answer(await inventory.reserve(product_id, quantity), product_id, "available");
    return c.body(null, 204);
  });

  app.openapi(ship, async (c) => {
    const { product_id, quantity } = c.req.valid("json");
    answer(await inventory.ship(product_id, quantity), product_id, "reserved");
    return c.body(null, 204);
  });

  app.use("/warehouse/stock/:productId", async (c, next) =>
    c.req.method === "PUT" ? adminGuard(adminToken)(c, next) : next(),
  );
  app.openapi(setStock, async (c) => {
    const { productId } = c.req.valid("param");
    const { quantity, price } = c.req.valid("json");
    await inventory.setStock(productId, quantity, price === undefined ? undefined : toCents(price));
    return c.body(null, 204);
  });

  app.openapi(getStock, async (c) => {
    const { productId } = c.req.valid("param");
    const stock = await inventory.get(productId);
    if (!stock) throw notFound(`product ${productId} has no stock record`);
    const { price_cents, ...rest } = stock;
    return c.json({ ...rest, ...(price_cents === undefined ? {} : { price: fromCents(price_cents) }) }, 200);
  });
}
