import { expect, test } from "bun:test";
import { Registry } from "prom-client";
import { MemoryAuctionBook, MemoryBidArchive, MemoryBidStream } from "../../src/adapters/memory/auctions.ts";
import { Archiver } from "../../src/auctions/archiver.ts";
import { createLogger } from "../../src/observability/log.ts";
import { testItem } from "../helpers/auction-items.ts";

test("the archiver stores bids and logs archive_lag_ms per batch (the dashboard's archive-lag source)", async () => {
  const stream = new MemoryBidStream();
  const book = new MemoryAuctionBook(stream);
  const archive = new MemoryBidArchive();
  const lines: string[] = [];
  const logger = createLogger("info", (t) => lines.push(t));
  const now = Date.now();
  await book.create(testItem({ item_id: "lamp", ends_at: now + 60_000 }, now));
  for (const [i, amount] of [100, 150, 175].entries()) {
    expect(
      (
        await book.bid({
          item_id: "lamp",
          user_id: `u${i}`,
          amount,
          bid_id: `b${i}`,
          proxy_bid_id: `p${i}`,
          now,
        })
      ).kind,
    ).toBe("accepted");
  }
  const archiver = new Archiver(
    stream,
    archive,
    { consumer: "test", batch: 100, claimIdleMs: 30_000, retainMs: 0 },
    logger,
    new Registry(),
  );
  await archiver.start();
  const deadline = Date.now() + 5000;
  while ((await archive.summary("lamp"))?.bid_count !== 3 && Date.now() < deadline) await Bun.sleep(10);
  await archiver.stop();
  expect(await archive.summary("lamp")).toMatchObject({ current_bid: 175, bid_count: 3 });
  logger.flush();
  const batches = lines
    .join("")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === "archived batch");
  expect(batches.length).toBeGreaterThan(0);
  for (const b of batches) expect(typeof b.archive_lag_ms).toBe("number");
});
