import { fromCents } from "../../domain/money.ts";
import type { HttpCore } from "../../http/app.ts";
import { assertActsFor, subjectOf } from "../../http/security.ts";
import type { CartService } from "../../services/carts.ts";
import type { CheckoutService } from "../../services/checkout.ts";
import { addItem, checkoutCart, createCart, getCart } from "./routes.ts";

export function registerCartRoutes(
  { handle }: HttpCore,
  { carts, checkout }: { carts: CartService; checkout: CheckoutService },
): void {
  /** With a user's token, only that user's carts; an API key acts for any customer. */
  const ownCart = async (subject: string | undefined, id: number) => {
    if (subject !== undefined) assertActsFor(subject, (await carts.get(id)).cart.customer_id, "the cart");
  };

  handle(createCart, async (c, { body }) => {
    assertActsFor(subjectOf(c), body.customer_id, "customer_id");
    return c.json({ shopping_cart_id: await carts.create(body.customer_id) }, 201);
  });

  handle(getCart, async (c, { params }) => {
    const { cart, lines } = await carts.get(params.shoppingCartId);
    assertActsFor(subjectOf(c), cart.customer_id, "the cart");
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
    await ownCart(subjectOf(c), params.shoppingCartId);
    await carts.addItem(params.shoppingCartId, body.product_id, body.quantity);
    return c.body(null, 204);
  });

  handle(checkoutCart, async (c, { params, headers, body }) => {
    await ownCart(subjectOf(c), params.shoppingCartId);
    return c.json(
      await checkout.checkout(params.shoppingCartId, body?.credit_card_number, headers["idempotency-key"]),
      200,
    );
  });
}
