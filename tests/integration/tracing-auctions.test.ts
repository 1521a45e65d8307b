/**
 * A bid's trace across the auction roles, each a shop process of its own on the shared Redis and
 * PostgreSQL: the bidder's server and bid spans, `traceparent` carried in the stream entry, the
 * broadcaster's fan-out span continuing the bid's trace, and the archiver's batch span linked to every
 * bid it wrote, with Redis and PostgreSQL client spans below.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  createItem,
  DATABASE_URL,
  dropRedisPrefix,
  dropSchema,
  post,
  REDIS_URL,
  redisClient,
  runId,
  Subscriber,
  until,
} from "../helpers/auctions.ts";
import { eventually } from "../helpers/http.ts";
import {
  KIND,
  newTraceparent,
  type ReceivedSpan,
  type Receiver,
  startReceiver,
  tracingEnv,
} from "../helpers/otlp.ts";
import { type Spawned, spawnShop } from "../helpers/shop.ts";

const run = runId("tracing");
const prefix = `${run}:`;

let receiver: Receiver;
let bidder: Spawned;
let broadcaster: Spawned;
let archiver: Spawned;

beforeAll(async () => {
  receiver = startReceiver();
  const env = { ...tracingEnv(receiver.url), REDIS_URL, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: "warn" };
  [bidder, broadcaster, archiver] = await Promise.all([
    spawnShop(["--role", "bidder"], env),
    spawnShop(["--role", "broadcaster"], env),
    spawnShop(["--role", "archiver"], { ...env, DATABASE_URL, DATABASE_SCHEMA: run }),
  ]);
});

afterAll(async () => {
  for (const p of [bidder, broadcaster, archiver]) p.proc.kill("SIGTERM");
  expect(await Promise.all([bidder, broadcaster, archiver].map((p) => p.proc.exited))).toEqual([0, 0, 0]);
  await receiver.stop();
  await dropRedisPrefix(prefix);
  await dropSchema(run);
});

const spanWhere = (where: (s: ReceivedSpan) => boolean, what: string) =>
  eventually(async () => receiver.spans.find(where), 20_000, what);

test("bid → stream → broadcaster and archiver: one trace to the frames, links from the archive batch", async () => {
  const { item_id } = await createItem(bidder.url, { start_price: 1 });
  const sub = new Subscriber(`${broadcaster.url.replace("http", "ws")}/ws/items/${item_id}`);
  await sub.opened;
  expect(await until(() => sub.frames.length >= 1)).toBe(true);

  const client = newTraceparent();
  const res = await post(
    `${bidder.url}/api/v1/items/${item_id}/bid`,
    { user_id: "u1", amount: 2 },
    {
      traceparent: client.header,
    },
  );
  expect(res.status).toBe(201);
  expect(await until(() => sub.bids().length >= 1)).toBe(true);
  sub.close();

  const server = await spanWhere(
    (s) => s.traceId === client.traceId && s.kind === KIND.server,
    "server span",
  );
  expect(server).toMatchObject({
    service: "shop-bidder",
    name: "POST /api/v1/items/:itemId/bid",
    parentSpanId: client.spanId,
  });
  const bid = await spanWhere((s) => s.traceId === client.traceId && s.name === "bid", "bid span");
  expect(bid).toMatchObject({ parentSpanId: server.spanId, attributes: { "auction.item_id": item_id } });
  const script = await spanWhere(
    (s) => s.parentSpanId === bid.spanId && s.attributes["db.system.name"] === "redis",
    "the bid's Redis call",
  );
  expect(script.kind).toBe(KIND.client);

  // The stream entry itself carries the bid span's context.
  const redis = await redisClient();
  try {
    const entries = await redis.xRange(`${prefix}auction:events`, "-", "+");
    const entry = (entries ?? []).find((e) => e.message.t === "bid" && e.message.item_id === item_id);
    expect(entry?.message.tp).toBe(`00-${client.traceId}-${bid.spanId}-01`);
  } finally {
    await redis.close();
  }

  const fanOut = await spanWhere(
    (s) => s.traceId === client.traceId && s.name === "fan-out bid",
    "the broadcaster's fan-out span",
  );
  expect(fanOut).toMatchObject({
    service: "shop-broadcaster",
    kind: KIND.consumer,
    parentSpanId: bid.spanId,
    attributes: { "auction.item_id": item_id, "ws.subscribers": 1 },
  });

  const batch = await spanWhere(
    (s) => s.name === "archive bids" && s.links.some((l) => l.spanId === bid.spanId),
    "the archiver's batch span linked to the bid",
  );
  expect(batch).toMatchObject({ service: "shop-archiver", kind: KIND.consumer });
  expect(batch.links).toContainEqual({ traceId: client.traceId, spanId: bid.spanId });
  // A batch has many bids, so it is a trace of its own that links to them rather than a child of one.
  expect(batch.traceId).not.toBe(client.traceId);
  const insert = await spanWhere(
    (s) => s.traceId === batch.traceId && s.attributes["db.system.name"] === "postgresql",
    "the batch's PostgreSQL queries",
  );
  expect(insert).toMatchObject({ kind: KIND.client, attributes: { "db.namespace": "test" } });
});
