import { fromCents } from "../../domain/money.ts";
import type { HttpCore } from "../../http/app.ts";
import type { CartService } from "../../services/carts.ts";
import type { CheckoutService } from "../../services/checkout.ts";
import { addItem, checkoutCart, createCart, getCart } from "./routes.ts";

export function registerCartRoutes(
  { handle }: HttpCore,
  { carts, checkout }: { carts: CartService; checkout: CheckoutService },
): void {
  handle(createCart, async (c, { body }) =>
    c.json({ shopping_cart_id: await carts.create(body.customer_id) }, 201),
  );

  handle(getCart, async (c, { params }) => {
    const { cart, lines } = await carts.get(params.shoppingCartId);
    return c.json(
      {
        shopping_cart_id: cart.shopping_cart_id,
        customer_id: cart.customer_id,
        status: cart.status,
        ...(cart.order_id === undefined ? {} : { order_id: cart.order_id }),
        items: lines.map((l) => ({
          product_id: l.product_id,
          quantity: l.quantity,
          unit_price: fromCents(l.price_cents),
        })),
      },
      200,
    );
  });

  handle(addItem, async (c, { params, body }) => {
    await carts.addItem(params.shoppingCartId, body.product_id, body.quantity);
    return c.body(null, 204);
  });

  handle(checkoutCart, async (c, { params, headers, body }) =>
    c.json(
      await checkout.checkout(params.shoppingCartId, body?.credit_card_number, headers["idempotency-key"]),
      200,
    ),
  );
}
