import { orderView } from "../../domain/orders.ts";
import { notFound } from "../../domain/outcomes.ts";
import type { HttpCore } from "../../http/app.ts";
import type { OrderService } from "../../services/orders.ts";
import { getOrder, placeOrderAsync, placeOrderSync } from "./routes.ts";

export function registerOrderRoutes({ handle }: HttpCore, orders: OrderService): void {
  handle(placeOrderSync, async (c, { body }) => c.json(await orders.placeSync(body), 200));

  handle(placeOrderAsync, async (c, { body }) => c.json(await orders.acceptAsync(body), 202));

  handle(getOrder, async (c, { params: { order_id } }) => {
    const order = await orders.get(order_id);
    if (!order) throw notFound(`order ${order_id} not found`);
    return c.json(orderView(order), 200);
  });
}
