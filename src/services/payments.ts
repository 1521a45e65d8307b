/**
 * Paying for a cart outside the order pipeline (POST /payments/checkout): charged through the gateway
 * under the cart's key, so a cart is paid at most once whichever path pays it, and only for a live
 * order (cartChargeRefusal): the cart of a failed order answers ORDER_FAILED. Paying ahead of checkout
 * fixes the cart's lines first, so what is paid is what its order will total.
 */
import type { Cart, CartStore } from "../domain/carts.ts";
import type { IdempotencyStore } from "../domain/idempotency.ts";
import type { InventoryStore } from "../domain/inventory.ts";
import { lineTotal, type Order, type OrderStore } from "../domain/orders.ts";
import { DomainError } from "../domain/outcomes.ts";
import {
  cartChargeRefusal,
  chargeKey,
  declinedFailure,
  orderFailed,
  type PaymentGateway,
} from "../domain/payments.ts";
import { cartNotFound, priceLines } from "./carts.ts";
import { idempotent } from "./idempotency.ts";

export interface PaymentDeps {
  carts: CartStore;
  inventory: InventoryStore;
  orders: OrderStore;
  gateway: PaymentGateway;
  idempotency: IdempotencyStore;
}

export interface PaymentRequest {
  cartId: number;
  card: string;
  /** The client's Idempotency-Key: the same key and request replay the first outcome. */
  idempotencyKey?: string | undefined;
}

/** Reads before a payment gives up on a cart that keeps changing under it (TRY_AGAIN). */
const ATTEMPTS = 5;

export class PaymentService {
  constructor(private readonly deps: PaymentDeps) {}

  /**
   * NOT_FOUND, CART_EMPTY, ORDER_FAILED (details: the order's failure), PAYMENT_DECLINED (details:
   * the reason), CONFLICT when the cart's key was charged another amount than its order totals, or
   * TRY_AGAIN when the cart kept changing; gateway faults are retried by its policy.
   */
  pay({ cartId, card, idempotencyKey }: PaymentRequest): Promise<{ transaction_id: string }> {
    const request = { credit_card_number: card, shopping_cart_id: cartId };
    return idempotent(this.deps.idempotency, "payment", idempotencyKey, request, async () => {
      // Each pass reads afresh: an add or a checkout that landed since the last one changes the amount.
      for (let attempt = 1; ; attempt++) {
        const { cart, order } = await this.cartAndOrder(cartId);
        if (Object.keys(cart.items).length === 0) {
          throw new DomainError("CART_EMPTY", `shopping cart ${cartId} is empty`);
        }
        const refusal = cartChargeRefusal(cart, order);
        if (refusal) throw refusal;
        // The order's total as checkout fixed it; a cart not yet ordered for the lines this payment fixes.
        const amountCents = order?.total_cents ?? (await this.paidAheadTotal(cart));
        const last = attempt === ATTEMPTS;
        if (amountCents === undefined) {
          if (last)
            throw new DomainError("TRY_AGAIN", `shopping cart ${cartId} kept changing`, { retryAfterS: 0 });
          continue;
        }
        const result = await this.deps.gateway.charge({
          idempotencyKey: chargeKey({ cart_id: cartId }),
          amountCents,
          card,
        });
        if (result.approved) return { transaction_id: result.transaction_id };
        if (result.final) {
          // The pipeline's decline closed the cart's key after the read above: its order failed meanwhile.
          const now = await this.cartAndOrder(cartId);
          throw orderFailed(now.cart, now.cart.order_id, declinedFailure(result.reason));
        }
        if (result.mismatch) {
          // Most often the cart's order was stored and charged since the read: the next pass pays its total.
          if (last)
            throw new DomainError("CONFLICT", `shopping cart ${cartId} was charged another amount`, {
              details: result.reason,
            });
          continue;
        }
        throw new DomainError("PAYMENT_DECLINED", "payment declined", { details: result.reason });
      }
    });
  }

  /**
   * What paying a cart without an order charges: the lines a payment ahead fixed on it, fixed now if
   * none did (undefined when the cart changed since it was read). A cart being checked out takes no
   * items any more and its order is priced at the same moment, so it is charged today's prices.
   */
  private async paidAheadTotal(cart: Cart): Promise<number | undefined> {
    if (cart.paid_lines) return lineTotal(cart.paid_lines);
    const lines = await priceLines(this.deps.inventory, cart.items);
    if (cart.status !== "open") return lineTotal(lines);
    const fixed = await this.deps.carts.fixPaidLines(cart.shopping_cart_id, cart.items, lines);
    return fixed ? lineTotal(lines) : undefined;
  }

  private async cartAndOrder(cartId: number): Promise<{ cart: Cart; order: Order | undefined }> {
    const cart = await this.deps.carts.get(cartId);
    if (!cart) throw cartNotFound(cartId);
    const order = cart.order_id === undefined ? undefined : await this.deps.orders.get(String(cart.order_id));
    return { cart, order: order?.cart_id === cartId ? order : undefined };
  }
}
