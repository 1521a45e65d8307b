import { bidView, itemView } from "../../auctions/views.ts";
import { fromCents } from "../../domain/money.ts";
import type { HttpCore } from "../../http/app.ts";
import { assertActsFor, subjectOf } from "../../http/security.ts";
import type { AuctionHistory, AuctionItems } from "../../services/auction-items.ts";
import { createItem, getItem, listBids, listItems, placeBid } from "./routes.ts";

const time = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));

export function registerItemRoutes(
  { handle, log }: HttpCore,
  items: AuctionItems,
  history: AuctionHistory,
): void {
  handle(createItem, async (c, { body }) => {
    const item = await items.create(
      { ...body, ends_at: Date.parse(body.ends_at), max_end_at: time(body.max_end_at) },
      log(c),
    );
    return c.json(itemView(item, Date.now()), 201);
  });

  handle(listItems, async (c, { query }) => {
    const page = await items.list({ ...query, ending_before: time(query.ending_before) }, log(c));
    const now = Date.now();
    return c.json({ items: page.entries.map((i) => itemView(i, now)), next_cursor: page.next ?? null }, 200);
  });

  handle(getItem, async (c, { params }) =>
    c.json(itemView(await items.get(params.itemId, log(c)), Date.now()), 200),
  );

  handle(listBids, async (c, { params, query }) => {
    const page = await history.bids(params.itemId, { before: query.cursor, limit: query.limit }, log(c));
    return c.json({ bids: page.entries.map(bidView), next_cursor: page.next ?? null }, 200);
  });

  handle(placeBid, async (c, { params: { itemId }, body }) => {
    assertActsFor(subjectOf(c), body.user_id, "user_id");
    const placed = await items.bid(
      { itemId, userId: body.user_id, amount: body.amount, maxAmount: body.max_amount },
      log(c),
    );
    return c.json(
      {
        accepted: true as const,
        bid_id: placed.bid_id,
        event_id: placed.events.at(-1)?.event_id,
        item_id: itemId,
        amount: fromCents(placed.amount),
        previous_bid: fromCents(placed.previous_bid),
        current_bid: fromCents(placed.current_bid),
        leading: placed.leading,
        ends_at: new Date(placed.ends_at).toISOString(),
      },
      201,
    );
  });
}
