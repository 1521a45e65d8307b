import { orderView } from "../../domain/orders.ts";
import type { App } from "../../http/app.ts";
import { notFound } from "../../http/errors.ts";
import type { OrderService } from "../../services/orders.ts";
import { getOrder, placeOrderAsync, placeOrderSync } from "./routes.ts";

export function registerOrderRoutes(app: App, orders: OrderService): void {
  app.openapi(placeOrderSync, async (c) => c.json(await orders.placeSync(c.req.valid("json")), 200));

  app.openapi(placeOrderAsync, async (c) => c.json(await orders.acceptAsync(c.req.valid("json")), 202));

  app.openapi(getOrder, async (c) => {
    const { order_id } = c.req.valid("param");
    const order = await orders.get(order_id);
    if (!order) throw notFound(`order ${order_id} not found`);
    return c.json(orderView(order), 200);
  });
}
