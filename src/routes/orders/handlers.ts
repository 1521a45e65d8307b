import type { HttpCore } from "../../http/app.ts";
import { assertActsFor, subjectOf } from "../../http/security.ts";
import type { OrderService } from "../../services/orders.ts";
import { getOrder, placeOrderAsync, placeOrderSync } from "./routes.ts";

export function registerOrderRoutes({ handle }: HttpCore, orders: OrderService): void {
  handle(placeOrderSync, async (c, { body }) => {
    assertActsFor(subjectOf(c), body.customer_id, "customer_id");
    return c.json(await orders.placeSync(body), 200);
  });

  handle(placeOrderAsync, async (c, { body }) => {
    assertActsFor(subjectOf(c), body.customer_id, "customer_id");
    return c.json(await orders.acceptAsync(body), 202);
  });

  handle(getOrder, async (c, { params }) => {
    const order = await orders.view(params.order_id);
    assertActsFor(subjectOf(c), order.customer_id, "the order");
    return c.json(order, 200);
  });
}
