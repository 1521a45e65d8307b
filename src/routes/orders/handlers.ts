import type { HttpCore } from "../../http/app.ts";
import type { OrderService } from "../../services/orders.ts";
import { getOrder, placeOrderAsync, placeOrderSync } from "./routes.ts";

export function registerOrderRoutes({ handle }: HttpCore, orders: OrderService): void {
  handle(placeOrderSync, async (c, { body }) => c.json(await orders.placeSync(body), 200));

  handle(placeOrderAsync, async (c, { body }) => c.json(await orders.acceptAsync(body), 202));

  handle(getOrder, async (c, { params }) => c.json(await orders.view(params.order_id), 200));
}
