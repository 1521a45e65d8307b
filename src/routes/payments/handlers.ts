import type { HttpCore } from "../../http/app.ts";
import { assertActsFor, subjectOf } from "../../http/security.ts";
import type { CartService } from "../../services/carts.ts";
import type { PaymentService } from "../../services/payments.ts";
import { processPayment } from "./routes.ts";

export function registerPaymentRoutes(
  { handle }: HttpCore,
  payments: PaymentService,
  carts: CartService,
): void {
  handle(processPayment, async (c, { body, headers }) => {
    const subject = subjectOf(c);
    // A user pays only for their own cart; an API key (a trusted backend) for any.
    if (subject !== undefined)
      assertActsFor(subject, (await carts.get(body.shopping_cart_id)).cart.customer_id, "the cart");
    const { transaction_id } = await payments.pay({
      cartId: body.shopping_cart_id,
      card: body.credit_card_number,
      idempotencyKey: headers["idempotency-key"],
    });
    return c.json({ success: true as const, transaction_id }, 200);
  });
}
