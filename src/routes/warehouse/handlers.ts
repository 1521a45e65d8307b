import { fromCents } from "../../domain/money.ts";
import type { HttpCore } from "../../http/app.ts";
import type { WarehouseService } from "../../services/warehouse.ts";
import { getStock, reserve, setStock, ship } from "./routes.ts";

export function registerWarehouseRoutes({ handle }: HttpCore, warehouse: WarehouseService) {
  handle(reserve, async (c, { body }) => {
    await warehouse.reserve(body.product_id, body.quantity);
    return c.body(null, 204);
  });

  handle(ship, async (c, { body }) => {
    await warehouse.ship(body.product_id, body.quantity);
    return c.body(null, 204);
  });

  handle(setStock, async (c, { params: { productId }, body: { quantity, price } }) => {
    await warehouse.setStock(productId, quantity, price);
    return c.body(null, 204);
  });

  handle(getStock, async (c, { params: { productId } }) => {
    const { price_cents, ...rest } = await warehouse.stock(productId);
    return c.json({ ...rest, ...(price_cents === undefined ? {} : { price: fromCents(price_cents) }) }, 200);
  });
}
