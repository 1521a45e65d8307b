import { itemView } from "../../auctions/views.ts";
import { fromCents } from "../../domain/money.ts";
import { adminAuth } from "../../http/admin-auth.ts";
import type { HttpCore } from "../../http/app.ts";
import type { AuctionItems } from "../../services/auction-items.ts";
import { createItem, getItem, placeBid } from "./routes.ts";

export function registerItemRoutes(
  { app, handle, log }: HttpCore,
  items: AuctionItems,
  adminToken: string | undefined,
): void {
  const admin = adminAuth(adminToken);
  app.use("/api/v1/items", (c, next) => (c.req.method === "POST" ? admin(c, next) : next()));
  handle(createItem, async (c, { body }) => {
    const item = await items.create({ ...body, ends_at: Date.parse(body.ends_at) }, log(c));
    return c.json(itemView(item, Date.now()), 201);
  });

  handle(getItem, async (c, { params }) =>
    c.json(itemView(await items.get(params.itemId, log(c)), Date.now()), 200),
  );

  handle(placeBid, async (c, { params: { itemId }, body }) => {
    const event = await items.bid({ itemId, userId: body.user_id, amount: body.amount }, log(c));
    return c.json(
      {
        accepted: true as const,
        bid_id: event.bid_id,
        event_id: event.event_id,
        item_id: itemId,
        amount: fromCents(event.amount),
        previous_bid: fromCents(event.previous_bid),
      },
      201,
    );
  });
}
