/**
 * Paying for a cart outside the order pipeline (POST /payments/checkout): its total, charged through the
 * gateway under the cart's key, so a cart is paid at most once whichever path pays it.
 */
import type { CartStore } from "../domain/carts.ts";
import type { IdempotencyStore } from "../domain/idempotency.ts";
import type { InventoryStore } from "../domain/inventory.ts";
import { lineTotal } from "../domain/orders.ts";
import { DomainError } from "../domain/outcomes.ts";
import { chargeKey, type PaymentGateway } from "../domain/payments.ts";
import { cartNotFound, priceLines } from "./carts.ts";
import { idempotent } from "./idempotency.ts";

export interface PaymentDeps {
  carts: CartStore;
  inventory: InventoryStore;
  gateway: PaymentGateway;
  idempotency: IdempotencyStore;
}

export interface PaymentRequest {
  cartId: number;
  card: string;
  /** The client's Idempotency-Key: the same key and request replay the first outcome. */
  idempotencyKey?: string | undefined;
}

export class PaymentService {
  constructor(private readonly deps: PaymentDeps) {}

  /** NOT_FOUND, CART_EMPTY or PAYMENT_DECLINED (details: the reason); gateway faults are retried by its policy. */
  pay({ cartId, card, idempotencyKey }: PaymentRequest): Promise<{ transaction_id: string }> {
    const request = { credit_card_number: card, shopping_cart_id: cartId };
    return idempotent(this.deps.idempotency, "payment", idempotencyKey, request, async () => {
      const cart = await this.deps.carts.get(cartId);
      if (!cart) throw cartNotFound(cartId);
      if (Object.keys(cart.items).length === 0) {
        throw new DomainError("CART_EMPTY", `shopping cart ${cartId} is empty`);
      }
      const result = await this.deps.gateway.charge({
        idempotencyKey: chargeKey({ cart_id: cartId }),
        amountCents: lineTotal(await priceLines(this.deps.inventory, cart.items)),
        card,
      });
      if (!result.approved)
        throw new DomainError("PAYMENT_DECLINED", "payment declined", { details: result.reason });
      return { transaction_id: result.transaction_id };
    });
  }
}
