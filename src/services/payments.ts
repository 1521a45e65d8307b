/**
 * Paying for a cart outside the order pipeline (POST /payments/checkout): charged through the gateway
 * under the cart's key, so a cart is paid at most once whichever path pays it, and only for a live
 * order (cartChargeRefusal): the cart of a failed order answers ORDER_FAILED.
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

export class PaymentService {
  constructor(private readonly deps: PaymentDeps) {}

  /**
   * NOT_FOUND, CART_EMPTY, ORDER_FAILED (details: the order's failure) or PAYMENT_DECLINED (details:
   * the reason); gateway faults are retried by its policy.
   */
  pay({ cartId, card, idempotencyKey }: PaymentRequest): Promise<{ transaction_id: string }> {
    const request = { credit_card_number: card, shopping_cart_id: cartId };
    return idempotent(this.deps.idempotency, "payment", idempotencyKey, request, async () => {
      const { cart, order } = await this.cartAndOrder(cartId);
      if (Object.keys(cart.items).length === 0) {
        throw new DomainError("CART_EMPTY", `shopping cart ${cartId} is empty`);
      }
      const refusal = cartChargeRefusal(cart, order);
      if (refusal) throw refusal;
      const result = await this.deps.gateway.charge({
        idempotencyKey: chargeKey({ cart_id: cartId }),
        // The order's total as checkout fixed it; a cart not yet ordered at today's prices.
        amountCents: order?.total_cents ?? lineTotal(await priceLines(this.deps.inventory, cart.items)),
        card,
      });
      if (result.approved) return { transaction_id: result.transaction_id };
      if (result.final) {
        // The pipeline's decline closed the cart's key after the read above: its order failed meanwhile.
        const now = await this.cartAndOrder(cartId);
        throw orderFailed(now.cart, now.cart.order_id, declinedFailure(result.reason));
      }
      throw new DomainError("PAYMENT_DECLINED", "payment declined", { details: result.reason });
    });
  }

  private async cartAndOrder(cartId: number): Promise<{ cart: Cart; order: Order | undefined }> {
    const cart = await this.deps.carts.get(cartId);
    if (!cart) throw cartNotFound(cartId);
    const order = cart.order_id === undefined ? undefined : await this.deps.orders.get(String(cart.order_id));
    return { cart, order: order?.cart_id === cartId ? order : undefined };
  }
}
