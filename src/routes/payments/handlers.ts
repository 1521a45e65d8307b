import type { CartStore } from "../../domain/carts.ts";
import type { IdempotencyStore } from "../../domain/idempotency.ts";
import { lineTotal } from "../../domain/orders.ts";
import { chargeKey, type PaymentGateway } from "../../domain/payments.ts";
import type { HttpCore } from "../../http/app.ts";
import { ApiError, notFound } from "../../http/errors.ts";
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
    const response = await idempotent(deps.idempotency, "payment", key, body, async () => {
      const cart = await deps.carts.get(body.shopping_cart_id);
      if (!cart) throw notFound(`shopping cart ${body.shopping_cart_id} not found`);
      if (Object.keys(cart.items).length === 0) {
        throw new ApiError(400, "CART_EMPTY", `shopping cart ${cart.shopping_cart_id} is empty`);
      }
      const result = await deps.gateway.charge({
        idempotencyKey: chargeKey({ cart_id: cart.shopping_cart_id }),
        amountCents: lineTotal(await deps.checkout.lines(cart.items)),
        card: body.credit_card_number,
      });
      if (!result.approved) throw new ApiError(402, "PAYMENT_DECLINED", "payment declined", result.reason);
      return { status: 200, body: { success: true, transaction_id: result.transaction_id } };
    });
    return c.json(response.body as { success: true; transaction_id: string }, response.status as 200);
  });
}
