/**
 * Cart checkout. The decisive step is one atomic write (src/domain/transactions.ts; on DynamoDB one
 * TransactWriteItems): the cart open → checked_out with its order id, the order (pending, its stock
 * reserved), every line's stock available → reserved (each conditional on enough being available) and the
 * outbox record that will tell the processor. It happens whole or not at all, so there is nothing to undo:
 * a short line cancels it all and is named in INSUFFICIENT_STOCK, and a timeout is resolved by resending
 * the same transaction (same token), never by guessing. Payment and shipping happen in the order pipeline.
 */
import type { CartStore } from "../domain/carts.ts";
import type { IdAllocator } from "../domain/counters.ts";
import type { IdempotencyStore } from "../domain/idempotency.ts";
import type { InventoryStore } from "../domain/inventory.ts";
import { lineTotal, type Order, type OrderStore, sha256 } from "../domain/orders.ts";
import { orderMessageRecord } from "../domain/outbox.ts";
import { DomainError, invalidInput } from "../domain/outcomes.ts";
import { type CommerceWrites, MAX_CHECKOUT_LINES, requestToken } from "../domain/transactions.ts";
import type { Logger } from "../observability/log.ts";
import { traceCarrier } from "../observability/tracing.ts";
import { cartLines, cartNotFound } from "./carts.ts";
import { idempotent } from "./idempotency.ts";
import type { OrderService } from "./orders.ts";

export interface CheckoutDeps {
  carts: CartStore;
  inventory: InventoryStore;
  writes: Pick<CommerceWrites, "checkout">;
  /** Read when a keyed checkout finds its cart checked out: was it this request's own? */
  orders: Pick<OrderStore, "get">;
  ids: IdAllocator;
  idempotency: IdempotencyStore;
  pipeline: OrderService;
  logger: Logger;
}

/** Attempts when the cart changed under the checkout or an /orders client took the allocated id. */
const ATTEMPTS = 5;

export class CheckoutService {
  constructor(private readonly deps: CheckoutDeps) {}

  /**
   * Checks the cart out once: the same Idempotency-Key and card replay the first outcome (a refusal
   * included); without a key a repeated checkout answers CART_CHECKED_OUT with the order id. A first
   * attempt answered 503 is not remembered under the key, yet its checkout may have landed: the order
   * then carries the key's request (`checkout_request`), and the resend answers that checkout's 200.
   */
  async checkout(
    cartId: number,
    card: string | undefined,
    idempotencyKey?: string,
  ): Promise<{ order_id: number }> {
    const request =
      idempotencyKey === undefined ? undefined : await sha256(JSON.stringify([idempotencyKey, card ?? null]));
    return idempotent(this.deps.idempotency, `checkout:${cartId}`, idempotencyKey, { card }, () =>
      this.run(cartId, card, request),
    );
  }

  private async run(
    cartId: number,
    card: string | undefined,
    request: string | undefined,
  ): Promise<{ order_id: number }> {
    const { carts, writes } = this.deps;
    const relay = this.deps.pipeline.intake();
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const cart = await carts.get(cartId);
      if (!cart) throw cartNotFound(cartId);
      if (cart.status === "checked_out") {
        const orderId = cart.order_id;
        if (orderId !== undefined && (await this.ownCheckout(orderId, request))) return { order_id: orderId };
        throw new DomainError("CART_CHECKED_OUT", `shopping cart ${cartId} is already checked out`, {
          details: `order ${cart.order_id}`,
          data: { order_id: cart.order_id },
        });
      }
      const lineCount = Object.keys(cart.items).length;
      if (lineCount === 0) throw new DomainError("CART_EMPTY", `shopping cart ${cartId} is empty`);
      if (lineCount > MAX_CHECKOUT_LINES) {
        throw invalidInput(`a cart checks out at most ${MAX_CHECKOUT_LINES} products at once`, "items");
      }
      const lines = await cartLines(this.deps.inventory, cart);
      // A fresh id per attempt: each attempt is its own transaction, and its token names cart and attempt.
      const orderId = await this.deps.ids.next("orders");
      // The request's trace context travels with the record: the relay's producer span continues it.
      const outbox = orderMessageRecord(String(orderId), traceCarrier());
      const now = new Date().toISOString();
      const order: Order = {
        order_id: String(orderId),
        customer_id: cart.customer_id,
        items: lines,
        total_cents: lineTotal(lines),
        status: "pending",
        source: "cart",
        request_hash: `cart:${cartId}`,
        cart_id: cartId,
        stock: "reserved",
        message_id: outbox.id,
        created_at: now,
        updated_at: now,
        ...(card === undefined ? {} : { card_number: card }),
        ...(request === undefined ? {} : { checkout_request: request }),
      };
      const token = await requestToken("checkout", cartId, orderId);
      const outcome = await writes.checkout({ cartId, cartItems: cart.items, order, outbox }, token);
      switch (outcome.kind) {
        case "done":
          relay.handOver(outbox);
          return { order_id: orderId };
        case "short":
          throw new DomainError(
            "INSUFFICIENT_STOCK",
            "not enough stock for every line; nothing was reserved",
            {
              details: outcome.lines
                .map((l) => `product ${l.product_id}: requested ${l.requested}, available ${l.available}`)
                .join("; "),
              data: { lines: outcome.lines },
            },
          );
        case "cart_changed":
        case "order_exists":
          // Checked out meanwhile (the next read says by which order), lines changed, or the id taken.
          this.deps.logger.info("checkout attempt superseded; reading the cart again", {
            cart_id: cartId,
            order_id: orderId,
            reason: outcome.kind,
          });
      }
    }
    throw new DomainError("TRY_AGAIN", `shopping cart ${cartId} kept changing during checkout; retry`, {
      retryAfterS: 0,
    });
  }

  /** Whether the order a checked-out cart names was stored by this keyed request (a resend after a 503). */
  private async ownCheckout(orderId: number, request: string | undefined): Promise<boolean> {
    if (request === undefined) return false;
    return (await this.deps.orders.get(String(orderId)))?.checkout_request === request;
  }
}
