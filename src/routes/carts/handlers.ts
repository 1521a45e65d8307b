import type { CartStore } from "../../domain/carts.ts";
import type { IdAllocator } from "../../domain/counters.ts";
import type { IdempotencyStore } from "../../domain/idempotency.ts";
import { fromCents } from "../../domain/money.ts";
import { DomainError, invalidInput, notFound } from "../../domain/outcomes.ts";
import type { ProductStore } from "../../domain/products.ts";
import type { HttpCore } from "../../http/app.ts";
import type { CheckoutService } from "../../services/checkout.ts";
import { idempotent } from "../../services/idempotency.ts";
import { addItem, checkoutCart, createCart, getCart } from "./routes.ts";

export interface CartRouteDeps {
  carts: CartStore;
  ids: IdAllocator;
  products: ProductStore;
  checkout: CheckoutService;
  idempotency: IdempotencyStore;
}

export function registerCartRoutes({ handle }: HttpCore, deps: CartRouteDeps): void {
  const { carts, checkout } = deps;

  handle(createCart, async (c, { body: { customer_id } }) => {
    const id = await deps.ids.next("carts");
    await carts.create({
      shopping_cart_id: id,
      customer_id,
      items: {},
      status: "open",
      created_at: new Date().toISOString(),
    });
    return c.json({ shopping_cart_id: id }, 201);
  });

  handle(getCart, async (c, { params: { shoppingCartId } }) => {
    const cart = await carts.get(shoppingCartId);
    if (!cart) throw notFound(`shopping cart ${shoppingCartId} not found`);
    const lines = await checkout.lines(cart.items);
    return c.json(
      {
        shopping_cart_id: cart.shopping_cart_id,
        customer_id: cart.customer_id,
        status: cart.status,
        ...(cart.order_id === undefined ? {} : { order_id: cart.order_id }),
        items: lines.map((l) => ({
          product_id: l.product_id,
          quantity: l.quantity,
          ...(l.price_cents === undefined ? {} : { unit_price: fromCents(l.price_cents) }),
        })),
      },
      200,
    );
  });

  handle(addItem, async (c, { params: { shoppingCartId }, body: { product_id, quantity } }) => {
    if (!(await deps.products.get(product_id))) throw notFound(`product ${product_id} not found`);
    const result = await carts.addItem(shoppingCartId, product_id, quantity);
    if (result === "not_found") throw notFound(`shopping cart ${shoppingCartId} not found`);
    if (result === "not_open") {
      throw new DomainError("CART_CHECKED_OUT", `shopping cart ${shoppingCartId} is already checked out`);
    }
    if (result === "too_many") throw invalidInput("quantity in cart would exceed 2147483647", "quantity");
    return c.body(null, 204);
  });

  handle(checkoutCart, async (c, { params: { shoppingCartId }, headers, body }) => {
    const card = body?.credit_card_number;
    const placed = await idempotent(
      deps.idempotency,
      `checkout:${shoppingCartId}`,
      headers["idempotency-key"],
      { card },
      () => checkout.checkout(shoppingCartId, card),
    );
    return c.json(placed, 200);
  });
}
