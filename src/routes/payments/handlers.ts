import type { CartStore } from "../../domain/carts.ts";
import type { IdempotencyStore } from "../../domain/idempotency.ts";
import { lineTotal } from "../../domain/orders.ts";
import { DomainError, notFound } from "../../domain/outcomes.ts";
import { chargeKey, type PaymentGateway } from "../../domain/payments.ts";
import type { HttpCore } from "../../http/app.ts";
import type { CheckoutService } from "../../services/checkout.ts";
import { idempotent } from "../../services/idempotency.ts";
import { processPayment } from "./routes.ts";

export interface PaymentRouteDeps {
  carts: CartStore;
  checkout: CheckoutService;
  gateway: PaymentGateway;
  idempotency: IdempotencyStore;
}

export function registerPaymentRoutes({ handle }: HttpCore, deps: PaymentRouteDeps): void {
  handle(processPayment, async (c, { body, headers }) => {
    const key = headers["idempotency-key"];
    const paid = await idempotent(deps.idempotency, "payment", key, body, async () => {
      const cart = await deps.carts.get(body.shopping_cart_id);
      if (!cart) throw notFound(`shopping cart ${body.shopping_cart_id} not found`);
      if (Object.keys(cart.items).length === 0) {
        throw new DomainError("CART_EMPTY", `shopping cart ${cart.shopping_cart_id} is empty`);
      }
      const result = await deps.gateway.charge({
        idempotencyKey: chargeKey({ cart_id: cart.shopping_cart_id }),
        amountCents: lineTotal(await deps.checkout.lines(cart.items)),
        card: body.credit_card_number,
      });
      if (!result.approved)
        throw new DomainError("PAYMENT_DECLINED", "payment declined", { details: result.reason });
      return { transaction_id: result.transaction_id };
    });
    return c.json({ success: true as const, transaction_id: paid.transaction_id }, 200);
  });
}
