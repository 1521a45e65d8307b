/**
 * Settlement: a closed item with a winner becomes an order in the commerce pipeline, charged by the
 * processor like any order. The order id is derived from the item (settlementOrderId), and accepting
 * an order is idempotent by id, so two closers racing, a retry or a closer killed mid-step all end in
 * the one order. There is no card on an auction win: the order carries none, so the processor charges
 * the winner's account on file, as it does for every order without a card.
 *
 * A failed charge makes the settlement `settlement_failed`, and the item is relisted once (a new
 * auction with the same terms, relistOf): offering it to the runner-up would charge someone who never
 * agreed to pay the winning price.
 */
import {
  type AuctionBook,
  customerOf,
  type ItemState,
  relistOf,
  settlementOrderId,
} from "../domain/auctions.ts";
import { fromCents } from "../domain/money.ts";
import type { OrderStatus } from "../domain/orders.ts";
import { DomainError, isTransient } from "../domain/outcomes.ts";
import { errorFields, type Logger } from "../observability/log.ts";

export interface Settlement {
  order_id: string;
  customer_id: number;
  item_id: string;
  /** Cents. */
  amount: number;
}

/** What settlement needs of the order pipeline (OrderService): accept by id, idempotently, and read back. */
export interface SettlementOrders {
  acceptSettlement(settlement: Settlement): Promise<unknown>;
  view(orderId: string): Promise<{ status: OrderStatus }>;
}

export interface SettlementOptions {
  /** How soon a settlement whose order is still being processed is looked at again. */
  pollMs: number;
  /** How soon a settlement whose step failed (the order store or queue unavailable) is retried. */
  retryMs: number;
}

export type SettlementStep = "settled" | "settlement_failed" | "waiting" | "retry" | "skipped";

export class AuctionSettlement {
  constructor(
    private readonly book: AuctionBook,
    private readonly orders: SettlementOrders,
    private readonly options: SettlementOptions,
    private readonly logger: Logger,
  ) {}

  /** One step of one item's settlement; never throws (a failure reschedules it). */
  async step(itemId: string): Promise<SettlementStep> {
    try {
      const item = await this.book.get(itemId);
      if (item?.settlement_status !== "pending") return "skipped";
      const customer = item.highest_bidder_id === null ? undefined : customerOf(item.highest_bidder_id);
      if (customer === undefined)
        return await this.fail(item, "the winner has no customer account to charge");
      const orderId = settlementOrderId(itemId);
      let status = await this.orderStatus(orderId);
      if (status === undefined || status === "pending") {
        // Also resumes an order a killed closer stored but never handed to the queue.
        await this.orders.acceptSettlement({
          order_id: orderId,
          customer_id: customer,
          item_id: itemId,
          amount: item.current_bid,
        });
        status ??= "pending";
      }
      if (status === "completed") {
        await this.book.settle(itemId, { settlement_status: "settled" }, Date.now());
        this.logger.info("auction settled", { item_id: itemId, order_id: orderId });
        return "settled";
      }
      if (status === "failed") return await this.fail(item, "the order's charge failed");
      await this.book.deferSettlement(itemId, Date.now() + this.options.pollMs);
      return "waiting";
    } catch (err) {
      if (err instanceof DomainError && !isTransient(err.code)) {
        // The order id is taken by a different order: this win can never become that order.
        const item = await this.book.get(itemId).catch(() => undefined);
        if (item?.settlement_status === "pending") return this.fail(item, err.message).catch(() => "retry");
      }
      this.logger.warn("settlement step failed; retrying", { item_id: itemId, ...errorFields(err) });
      await this.book.deferSettlement(itemId, Date.now() + this.options.retryMs).catch(() => {});
      return "retry";
    }
  }

  private async orderStatus(orderId: string): Promise<OrderStatus | undefined> {
    try {
      return (await this.orders.view(orderId)).status;
    } catch (err) {
      if (err instanceof DomainError && err.code === "NOT_FOUND") return undefined;
      throw err;
    }
  }

  /** Relists first, then records the failure: a step killed between the two relists the same item again. */
  private async fail(item: ItemState, reason: string): Promise<SettlementStep> {
    const now = Date.now();
    const relist = relistOf(item, now);
    await this.book.create(relist);
    await this.book.settle(
      item.item_id,
      { settlement_status: "settlement_failed", relisted_as: relist.item_id },
      now,
    );
    this.logger.warn("auction settlement failed; item relisted", {
      item_id: item.item_id,
      relisted_as: relist.item_id,
      reason,
      amount: fromCents(item.current_bid),
    });
    return "settlement_failed";
  }
}
