import type { Broadcaster } from "../../auctions/broadcaster.ts";
import { EVENT_ID, ITEM_ID } from "../../domain/auctions.ts";
import { invalidInput, notFound, unavailable } from "../../domain/outcomes.ts";
import type { HttpCore } from "../../http/app.ts";
import { ApiError } from "../../http/errors.ts";
import type { WsHandlers } from "../../runtime.ts";
import type { AuctionItems } from "../../services/auction-items.ts";
import { AUCTION_CSP, AUCTION_PAGE } from "./page.ts";

/**
 * The broadcaster's public surface: the WebSocket feed of one item (`?since=<event_id>` resumes after
 * that event) and the live page that reads it.
 */
export function registerLiveRoutes(
  { plain, log }: HttpCore,
  items: AuctionItems,
  broadcaster: Broadcaster,
): void {
  plain("/ws/items/:itemId", async (c) => {
    const itemId = c.req.param("itemId") ?? "";
    // Unknown items answer 404 before the upgrade, so clients need not open a socket to learn it.
    if (!ITEM_ID.test(itemId)) throw notFound(`item ${itemId} not found`);
    const since = c.req.query("since");
    if (since !== undefined && !EVENT_ID.test(since)) {
      throw invalidInput("since must be an event id", "since: must be an event_id like 1700000000000-0");
    }
    await items.get(itemId, log(c));
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new ApiError(426, "UPGRADE_REQUIRED", "this endpoint speaks WebSocket only", undefined, {
        Upgrade: "websocket",
      });
    }
    const upgrade = c.env?.upgrade;
    if (!upgrade) throw unavailable("WebSocket upgrades need the runtime's server");
    return upgrade(c.req.raw, subscriberHandlers(broadcaster, itemId, since));
  });

  plain("/auctions/:itemId", (c) => {
    c.header("Content-Security-Policy", AUCTION_CSP);
    return c.html(AUCTION_PAGE);
  });
}

/**
 * The socket's handlers, made outside the async route handler: closures made inside it would keep its
 * whole suspended frame (the request, its headers, the context) alive for as long as the socket is open,
 * about 3 KB per idle subscriber (docs/benchmarks.md, "Memory").
 */
function subscriberHandlers(broadcaster: Broadcaster, itemId: string, since: string | undefined): WsHandlers {
  return {
    open: (peer) => void broadcaster.open(itemId, peer, since),
    close: (peer) => broadcaster.close(peer),
  };
}
