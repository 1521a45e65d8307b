import type { Context } from "hono";
import { itemView } from "../../auctions/views.ts";
import { type AuctionBook, type BidOutcome, fromCents } from "../../domain/auctions.ts";
import { conflict, DomainError, notFound, unavailable } from "../../domain/outcomes.ts";
import { adminAuth } from "../../http/admin-auth.ts";
import type { AppEnv, HttpCore } from "../../http/app.ts";
import { errorFields, type Logger } from "../../observability/log.ts";
import { createItem, getItem, placeBid } from "./routes.ts";

const DEFAULT_MIN_INCREMENT = 1;

export function registerItemRoutes(
  { app, handle }: HttpCore,
  book: AuctionBook,
  adminToken: string | undefined,
  log: Logger,
): void {
  /** A failing book (Redis down) answers 503, never 500: the client may retry. */
  const guard = async <T>(c: Context<AppEnv>, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      log.warn("auction book unavailable", { request_id: c.env?.requestId, ...errorFields(err) });
      throw unavailable(`auction book (${book.kind}) unavailable`, 1);
    }
  };

  const admin = adminAuth(adminToken);
  app.use("/api/v1/items", (c, next) => (c.req.method === "POST" ? admin(c, next) : next()));
  handle(createItem, async (c, { body }) => {
    const now = Date.now();
    const item = {
      item_id: body.item_id ?? crypto.randomUUID(),
      name: body.name,
      description: body.description ?? null,
      start_price: body.start_price,
      min_increment: body.min_increment ?? DEFAULT_MIN_INCREMENT,
      ends_at: Date.parse(body.ends_at),
      created_at: now,
    };
    const created = await guard(c, () => book.create(item));
    if (!created) throw conflict(`item ${item.item_id} already exists`, { data: { item_id: item.item_id } });
    return c.json(itemView({ ...item, current_bid: 0, highest_bidder_id: null, bid_count: 0 }, now), 201);
  });

  handle(getItem, async (c, { params: { itemId } }) => {
    const item = await guard(c, () => book.get(itemId));
    if (!item) throw notFound(`item ${itemId} not found`);
    return c.json(itemView(item, Date.now()), 200);
  });

  handle(placeBid, async (c, { params: { itemId }, body: { user_id, amount } }) => {
    const outcome: BidOutcome = await guard(c, () =>
      book.bid({ item_id: itemId, user_id, amount, bid_id: crypto.randomUUID(), now: Date.now() }),
    );
    switch (outcome.kind) {
      case "accepted":
        return c.json(
          {
            accepted: true as const,
            bid_id: outcome.event.bid_id,
            event_id: outcome.event.event_id,
            item_id: itemId,
            amount: fromCents(amount),
            previous_bid: fromCents(outcome.event.previous_bid),
          },
          201,
        );
      case "not_found":
        throw notFound(`item ${itemId} not found`);
      case "too_low":
      case "closed": {
        const data = {
          current_bid: fromCents(outcome.current_bid),
          min_next_bid: fromCents(outcome.min_next_bid),
        };
        const details = `current bid ${data.current_bid}, minimum next bid ${data.min_next_bid}`;
        throw outcome.kind === "closed"
          ? new DomainError("AUCTION_CLOSED", `the auction for ${itemId} has ended`, { details, data })
          : new DomainError("BID_TOO_LOW", `the bid must be at least ${data.min_next_bid}`, {
              details,
              data,
            });
      }
      case "contended":
        throw new DomainError("TRY_AGAIN", "too many concurrent bids on this item; retry", {
          retryAfterS: 1,
        });
    }
  });
}
