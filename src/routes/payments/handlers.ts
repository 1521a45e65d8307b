import type { HttpCore } from "../../http/app.ts";
import type { PaymentService } from "../../services/payments.ts";
import { processPayment } from "./routes.ts";

export function registerPaymentRoutes({ handle }: HttpCore, payments: PaymentService): void {
  handle(processPayment, async (c, { body, headers }) => {
    const { transaction_id } = await payments.pay({
      cartId: body.shopping_cart_id,
      card: body.credit_card_number,
      idempotencyKey: headers["idempotency-key"],
    });
    return c.json({ success: true as const, transaction_id }, 200);
  });
}
