/**
 * The auction book and bid stream in Redis. Keys (all under REDIS_KEY_PREFIX):
 *   auction:item:<id>  hash: the item's details and live state, amounts in integer cents
 *   auction:events     stream: one entry per created item and per accepted bid, read by every
 *                      broadcaster (XREAD) and by the archiver consumer group
 * The item key and the stream are touched by one script or one transaction, so the keys must live
 * on one node: plain (non-cluster) Redis or ElastiCache with one shard.
 */
import { WatchError } from "redis";
import {
  type AuctionBook,
  type BidEvent,
  type BidOutcome,
  type BidRequest,
  type BidStream,
  compareEventIds,
  decideBid,
  type ItemState,
  type NewItem,
  type StreamEvent,
} from "../../domain/auctions.ts";
import type { Redis, RedisPool } from "./connections.ts";

export const ARCHIVER_GROUP = "archiver";

export interface RedisKeys {
  item(id: string): string;
  stream: string;
}

export const redisKeys = (prefix: string): RedisKeys => ({
  item: (id) => `${prefix}auction:item:${id}`,
  stream: `${prefix}auction:events`,
});

const ITEM_FIELDS = [
  "name",
  "description",
  "start_price",
  "min_increment",
  "ends_at",
  "created_at",
  "current_bid",
  "highest_bidder_id",
  "bid_count",
] as const;

/**
 * decideBid (domain/auctions.ts) in Lua, plus the append and the update, as one atomic step.
 * Amounts travel as decimal strings of cents; Lua numbers are doubles, exact far beyond MAX_AMOUNT in cents,
 * and the stored strings are reused rather than re-formatted (tostring(1e14) would give "1e+14").
 * KEYS: item, stream. ARGV: item_id, user_id, amount, bid_id, now_ms.
 */
const BID_SCRIPT = `
local h = redis.call('HMGET', KEYS[1], 'start_price', 'min_increment', 'current_bid', 'ends_at', 'bid_count')
if not h[1] then return {'not_found'} end
local min = math.max(tonumber(h[1]), tonumber(h[3]) + tonumber(h[2]))
if tonumber(ARGV[5]) >= tonumber(h[4]) then return {'closed', h[3], string.format('%d', min)} end
if tonumber(ARGV[3]) < min then return {'too_low', h[3], string.format('%d', min)} end
local seq = tostring(tonumber(h[5]) + 1)
local id = redis.call('XADD', KEYS[2], '*', 't', 'bid', 'item_id', ARGV[1], 'bid_id', ARGV[4],
  'user_id', ARGV[2], 'amount', ARGV[3], 'previous_bid', h[3], 'ts', ARGV[5], 'seq', seq)
redis.call('HSET', KEYS[1], 'current_bid', ARGV[3], 'highest_bidder_id', ARGV[2], 'bid_count', seq)
return {'accepted', id, h[3], seq}
`;

/** KEYS: item, stream. ARGV: the item as JSON, then field/value pairs of the hash. */
const CREATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('XADD', KEYS[2], '*', 't', 'item', 'item', ARGV[1])
return 1
`;

/** Runs a script by its SHA and loads it once when Redis answers NOSCRIPT (first use, or after a restart). */
class Script {
  private sha: string | undefined;
  constructor(private readonly source: string) {}

  async run(client: Redis, keys: string[], args: string[]): Promise<unknown> {
    this.sha ??= await client.scriptLoad(this.source);
    try {
      return await client.evalSha(this.sha, { keys, arguments: args });
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      this.sha = await client.scriptLoad(this.source);
      return client.evalSha(this.sha, { keys, arguments: args });
    }
  }
}

function itemFromHash(id: string, h: Record<string, string>): ItemState | undefined {
  if (h.start_price === undefined) return undefined;
  return {
    item_id: id,
    name: h.name ?? "",
    description: h.description ? h.description : null,
    start_price: Number(h.start_price),
    min_increment: Number(h.min_increment),
    ends_at: Number(h.ends_at),
    created_at: Number(h.created_at),
    current_bid: Number(h.current_bid),
    highest_bidder_id: h.highest_bidder_id ? h.highest_bidder_id : null,
    bid_count: Number(h.bid_count),
  };
}

function hashFields(item: NewItem): string[] {
  return [
    "name",
    item.name,
    "description",
    item.description ?? "",
    "start_price",
    String(item.start_price),
    "min_increment",
    String(item.min_increment),
    "ends_at",
    String(item.ends_at),
    "created_at",
    String(item.created_at),
    "current_bid",
    "0",
    "highest_bidder_id",
    "",
    "bid_count",
    "0",
  ];
}

export class RedisAuctionBook implements AuctionBook {
  readonly kind: string;
  private readonly bidScript = new Script(BID_SCRIPT);
  private readonly createScript = new Script(CREATE_SCRIPT);

  constructor(
    private readonly client: Redis,
    private readonly keys: RedisKeys,
    private readonly strategy: "lua" | "optimistic",
    private readonly pool: RedisPool | undefined,
    private readonly retries: number,
  ) {
    this.kind = `redis (${strategy})`;
    if (strategy === "optimistic" && !pool)
      throw new Error("the optimistic strategy needs a connection pool");
  }

  async create(item: NewItem): Promise<boolean> {
    const created = await this.createScript.run(
      this.client,
      [this.keys.item(item.item_id), this.keys.stream],
      [JSON.stringify(item), ...hashFields(item)],
    );
    return created === 1;
  }

  get(itemId: string): Promise<ItemState | undefined> {
    return this.getWith(this.client, itemId);
  }

  bid(request: BidRequest): Promise<BidOutcome> {
    return this.strategy === "lua" ? this.bidLua(request) : this.bidOptimistic(request);
  }

  async ready(): Promise<void> {
    await this.client.ping();
  }

  private async bidLua(r: BidRequest): Promise<BidOutcome> {
    const reply = (await this.bidScript.run(
      this.client,
      [this.keys.item(r.item_id), this.keys.stream],
      [r.item_id, r.user_id, String(r.amount), r.bid_id, String(r.now)],
    )) as string[];
    const [kind, a, b, c] = reply;
    if (kind === "not_found") return { kind };
    if (kind === "closed" || kind === "too_low") {
      return { kind, current_bid: Number(a), min_next_bid: Number(b) };
    }
    return { kind: "accepted", event: bidEvent(r, String(a), Number(b), Number(c)) };
  }

  /** WATCH the item, decide in JS with the domain rule, then MULTI append + update; retry if the item moved. */
  private async bidOptimistic(r: BidRequest): Promise<BidOutcome> {
    const key = this.keys.item(r.item_id);
    const pool = this.pool as RedisPool;
    for (let attempt = 0; attempt < this.retries; attempt++) {
      const outcome = await pool.execute(async (client) => {
        await client.watch(key);
        const item = await this.getWith(client, r.item_id);
        if (!item) {
          await client.unwatch();
          return { kind: "not_found" } as const;
        }
        const decision = decideBid(item, r.amount, r.now);
        if (decision.kind !== "accept") {
          await client.unwatch();
          return decision;
        }
        const seq = item.bid_count + 1;
        try {
          const [id] = await client
            .multi()
            .xAdd(this.keys.stream, "*", {
              t: "bid",
              item_id: r.item_id,
              bid_id: r.bid_id,
              user_id: r.user_id,
              amount: String(r.amount),
              previous_bid: String(item.current_bid),
              ts: String(r.now),
              seq: String(seq),
            })
            .hSet(key, {
              current_bid: String(r.amount),
              highest_bidder_id: r.user_id,
              bid_count: String(seq),
            })
            .exec();
          return { kind: "accepted", event: bidEvent(r, String(id), item.current_bid, seq) } as const;
        } catch (err) {
          if (err instanceof WatchError) return undefined;
          throw err;
        }
      });
      if (outcome) return outcome;
    }
    return { kind: "contended" };
  }

  private async getWith(client: Redis, itemId: string): Promise<ItemState | undefined> {
    const values = await client.hmGet(this.keys.item(itemId), [...ITEM_FIELDS]);
    const h: Record<string, string> = {};
    ITEM_FIELDS.forEach((f, i) => {
      const val = values[i];
      if (typeof val === "string") h[f] = val;
    });
    return itemFromHash(itemId, h);
  }
}

function bidEvent(r: BidRequest, eventId: string, previous: number, seq: number): BidEvent {
  return {
    type: "bid",
    event_id: eventId,
    item_id: r.item_id,
    bid_id: r.bid_id,
    user_id: r.user_id,
    amount: r.amount,
    previous_bid: previous,
    timestamp: r.now,
    seq,
  };
}

type RawEntry = [string, string[]];

function parseEntry([id, fields]: RawEntry): StreamEvent | undefined {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
  if (f.t === "item" && f.item) return { type: "item", event_id: id, item: JSON.parse(f.item) as NewItem };
  if (f.t !== "bid") return undefined;
  return {
    type: "bid",
    event_id: id,
    item_id: f.item_id ?? "",
    bid_id: f.bid_id ?? "",
    user_id: f.user_id ?? "",
    amount: Number(f.amount),
    previous_bid: Number(f.previous_bid),
    timestamp: Number(f.ts),
    seq: Number(f.seq),
  };
}

function parseEntries(entries: (RawEntry | null)[] | undefined): StreamEvent[] {
  const out: StreamEvent[] = [];
  for (const e of entries ?? []) {
    // XAUTOCLAIM can report entries trimmed meanwhile as nil.
    const parsed = e && parseEntry(e);
    if (parsed) out.push(parsed);
  }
  return out;
}

/** XREAD/XREADGROUP reply (RESP3 map, or RESP2 nested arrays) → the entries of our one stream. */
function entriesOf(reply: unknown): RawEntry[] {
  if (reply === null || reply === undefined) return [];
  if (Array.isArray(reply)) return ((reply[0] as [string, RawEntry[]] | undefined)?.[1] ?? []) as RawEntry[];
  return (Object.values(reply as Record<string, RawEntry[]>)[0] ?? []) as RawEntry[];
}

export class RedisBidStream implements BidStream {
  readonly kind = "redis";
  private claimCursor = "0-0";
  private groupReady = false;

  /**
   * `tail` and `group` are dedicated connections: a blocking XREAD holds its connection, and would
   * stall every command pipelined behind it on a shared one.
   */
  constructor(
    private readonly client: Redis,
    private readonly tail: Redis,
    private readonly group: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async lastId(): Promise<string> {
    const reply = (await this.client.sendCommand(["XREVRANGE", this.keys.stream, "+", "-", "COUNT", "1"])) as
      | RawEntry[]
      | null;
    return reply?.[0]?.[0] ?? "0-0";
  }

  async read(afterId: string, count: number, blockMs: number): Promise<StreamEvent[]> {
    const reply = await this.tail.sendCommand([
      "XREAD",
      "COUNT",
      String(count),
      "BLOCK",
      String(blockMs),
      "STREAMS",
      this.keys.stream,
      afterId,
    ]);
    return parseEntries(entriesOf(reply));
  }

  async readGroup(consumer: string, count: number, blockMs: number): Promise<StreamEvent[]> {
    const command = [
      "XREADGROUP",
      "GROUP",
      ARCHIVER_GROUP,
      consumer,
      "COUNT",
      String(count),
      "BLOCK",
      String(blockMs),
      "STREAMS",
      this.keys.stream,
      ">",
    ];
    return parseEntries(entriesOf(await this.withGroup(() => this.group.sendCommand(command))));
  }

  async claimStale(consumer: string, minIdleMs: number, count: number): Promise<StreamEvent[]> {
    const reply = (await this.withGroup(() =>
      this.client.sendCommand([
        "XAUTOCLAIM",
        this.keys.stream,
        ARCHIVER_GROUP,
        consumer,
        String(minIdleMs),
        this.claimCursor,
        "COUNT",
        String(count),
      ]),
    )) as [string, (RawEntry | null)[]];
    this.claimCursor = reply[0];
    return parseEntries(reply[1]);
  }

  async ack(eventIds: string[]): Promise<void> {
    if (eventIds.length === 0) return;
    await this.client.sendCommand(["XACK", this.keys.stream, ARCHIVER_GROUP, ...eventIds]);
  }

  async trimArchived(keepAfterId: string): Promise<void> {
    const pending = (await this.client.sendCommand(["XPENDING", this.keys.stream, ARCHIVER_GROUP])) as [
      number,
      string | null,
    ];
    let below: string | undefined;
    if (pending[0] > 0 && pending[1]) below = pending[1];
    else {
      const groups = (await this.client.sendCommand(["XINFO", "GROUPS", this.keys.stream])) as unknown[];
      below = groups.map(groupField).find((g) => g.name === ARCHIVER_GROUP)?.lastDelivered;
    }
    if (!below) return;
    const minId = compareEventIds(below, keepAfterId) < 0 ? below : keepAfterId;
    // MINID keeps every entry >= minId; `~` lets Redis trim whole nodes only (cheaper, keeps a little more).
    await this.client.sendCommand(["XTRIM", this.keys.stream, "MINID", "~", minId]);
  }

  /** Creates the group on first use and again after Redis lost it (a restart without persistence). */
  private async withGroup<T>(run: () => Promise<T>): Promise<T> {
    if (!this.groupReady) await this.ensureGroup();
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOGROUP")) throw err;
      this.groupReady = false;
      await this.ensureGroup();
      return run();
    }
  }

  private async ensureGroup(): Promise<void> {
    try {
      // From the very first entry: the archive must see every item and bid the stream still holds.
      await this.client.sendCommand(["XGROUP", "CREATE", this.keys.stream, ARCHIVER_GROUP, "0", "MKSTREAM"]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("BUSYGROUP")) throw err;
    }
    this.claimCursor = "0-0";
    this.groupReady = true;
  }
}

function groupField(g: unknown): { name?: string; lastDelivered?: string } {
  if (Array.isArray(g)) {
    const m: Record<string, unknown> = {};
    for (let i = 0; i + 1 < g.length; i += 2) m[String(g[i])] = g[i + 1];
    return { name: String(m.name), lastDelivered: String(m["last-delivered-id"]) };
  }
  const m = g as Record<string, unknown>;
  return { name: String(m.name), lastDelivered: String(m["last-delivered-id"]) };
}
