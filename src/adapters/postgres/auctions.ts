/**
 * The auction archive in PostgreSQL. Every write is idempotent so a batch may be replayed after a
 * crash between COMMIT and XACK: bids are keyed by bid_id, item events by event_id, items are
 * upserted, and an item only moves forward (current_bid and ends_at only rise, a status never goes
 * back), so batches archived out of order after a takeover end in the same rows. No column holds a
 * proxy bidder's maximum: the stream never carries it.
 */
import pg from "pg";
import type { Config } from "../../config.ts";
import type {
  ArchiveSummary,
  BidArchive,
  BidEvent,
  BidHistory,
  BidRecord,
  BidsQuery,
  ClosedEvent,
  ExtendedEvent,
  NewItem,
  Page,
  SettledEvent,
  StreamEvent,
} from "../../domain/auctions.ts";
import { tracing } from "../../observability/tracing.ts";
import { connectionConfig, type PasswordSource, passwordSource } from "./connection.ts";

type ItemChange = ExtendedEvent | ClosedEvent | SettledEvent;

/** Applied in order, each once, recorded in schema_migrations. Never edit a shipped entry: add one. */
const MIGRATIONS: { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: "items and bids",
    sql: `
      -- Details are null until the item's creation event is archived: a bid may arrive first when an
      -- archiver takes over a dead one's entries, and the bid must not wait for it.
      CREATE TABLE items (
        item_id text PRIMARY KEY,
        name text,
        description text,
        start_price bigint,
        min_increment bigint,
        ends_at timestamptz,
        created_at timestamptz,
        current_bid bigint NOT NULL DEFAULT 0,
        highest_bidder_id text,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE bids (
        bid_id uuid PRIMARY KEY,
        item_id text NOT NULL REFERENCES items (item_id),
        user_id text NOT NULL,
        amount bigint NOT NULL CHECK (amount > 0),
        previous_bid bigint NOT NULL,
        seq integer NOT NULL,
        event_id text NOT NULL,
        placed_at timestamptz NOT NULL,
        archived_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX bids_item_seq ON bids (item_id, seq);
      CREATE INDEX bids_user_placed ON bids (user_id, placed_at);
    `,
  },
  {
    version: 2,
    name: "closing, extensions, reserve, proxy bids, settlement",
    sql: `
      ALTER TABLE items
        ADD COLUMN status text NOT NULL DEFAULT 'open',
        ADD COLUMN extend_window_s integer NOT NULL DEFAULT 0,
        ADD COLUMN max_end_at timestamptz,
        ADD COLUMN reserve_price bigint NOT NULL DEFAULT 0,
        ADD COLUMN relisted_from text,
        ADD COLUMN winner_id text,
        ADD COLUMN final_amount bigint,
        ADD COLUMN reserve_met boolean,
        ADD COLUMN closed_at timestamptz,
        ADD COLUMN settlement_status text,
        ADD COLUMN order_id text,
        ADD COLUMN relisted_as text;
      ALTER TABLE bids ADD COLUMN auto boolean NOT NULL DEFAULT false;
      -- Extensions, closes and settlements as they happened; the items row holds their result.
      CREATE TABLE item_events (
        event_id text PRIMARY KEY,
        item_id text NOT NULL REFERENCES items (item_id),
        type text NOT NULL CHECK (type IN ('extended', 'closed', 'settled')),
        seq integer NOT NULL,
        at timestamptz NOT NULL,
        data jsonb NOT NULL,
        archived_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX item_events_item_seq ON item_events (item_id, seq);
    `,
  },
];

const byItem = <T extends { item_id: string }>(rows: Iterable<T>) =>
  [...rows].sort((a, b) => (a.item_id < b.item_id ? -1 : a.item_id > b.item_id ? 1 : 0));

/** What an item event records beside its type, seq and time. */
function eventData(e: ItemChange): Record<string, unknown> {
  switch (e.type) {
    case "extended":
      return { ends_at: e.ends_at };
    case "closed":
      return {
        status: e.status,
        winner_id: e.winner_id,
        amount: e.amount,
        reserve_met: e.reserve_met,
        ends_at: e.ends_at,
      };
    case "settled":
      return { settlement_status: e.settlement_status, order_id: e.order_id, relisted_as: e.relisted_as };
  }
}

export interface PostgresSettings {
  url: string;
  schema: string;
  /** Default 4: the archiver writes one batch at a time; the rest serve readiness and summaries. */
  poolSize?: number;
  /** Asked at every new connection (IAM tokens); without it the URL's password or PGPASSWORD. */
  password?: PasswordSource;
}

/** The archive's settings from the process configuration (DATABASE_URL must be set). */
export function postgresSettings(
  config: Pick<Config, "DATABASE_URL" | "DATABASE_SCHEMA" | "DATABASE_AUTH" | "AWS_REGION">,
): PostgresSettings {
  const url = config.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set");
  return {
    url,
    schema: config.DATABASE_SCHEMA,
    password: passwordSource(config.DATABASE_AUTH, url, config.AWS_REGION),
  };
}

export class PostgresBidArchive implements BidArchive, BidHistory {
  readonly kind = "postgresql";
  private readonly pool: pg.Pool;

  constructor(private readonly settings: PostgresSettings) {
    this.pool = new pg.Pool({
      ...connectionConfig(settings.url, settings.password),
      max: settings.poolSize ?? 4,
      // The schema name is validated by config (a lower-case identifier), so it needs no quoting here.
      options: `-c search_path=${settings.schema}`,
      connectionTimeoutMillis: 5000,
    });
    // A client losing its connection must not crash the process, idle or checked out (the pool only
    // listens while it is idle); the failed query reports it, and the next checkout reconnects.
    this.pool.on("error", () => {});
    const database = connectionConfig(settings.url).database;
    this.pool.on("connect", (client) => {
      client.on("error", () => {});
      tracing()?.instrumentPostgres(client, database);
    });
  }

  async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      // Serialises concurrent starts; CREATE SCHEMA IF NOT EXISTS alone can still race.
      await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [
        `shop.migrations.${this.settings.schema}`,
      ]);
      // CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists, which the
      // least-privilege role (see bootstrap.ts) does not have: create only what is missing.
      const schema = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [
        this.settings.schema,
      ]);
      if (schema.rowCount === 0) await client.query(`CREATE SCHEMA ${this.settings.schema}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const done = new Set(
        (await client.query<{ version: number }>("SELECT version FROM schema_migrations")).rows.map(
          (r) => r.version,
        ),
      );
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        await client.query(m.sql);
        await client.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
          m.version,
          m.name,
        ]);
      }
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async store(events: StreamEvent[]): Promise<void> {
    const items = new Map<string, NewItem>();
    const top = new Map<string, BidEvent>();
    const bids: BidEvent[] = [];
    const changes: ItemChange[] = [];
    for (const e of events) {
      if (e.type === "item") items.set(e.item.item_id, e.item);
      else if (e.type !== "bid") changes.push(e);
      else {
        bids.push(e);
        const best = top.get(e.item_id);
        if (!best || e.amount > best.amount) top.set(e.item_id, e);
      }
    }
    // Rows are locked in item_id order in every statement, so two archivers cannot deadlock.
    const details = byItem(items.values());
    const highest = byItem(top.values());

    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      if (details.length > 0) {
        await client.query(
          `INSERT INTO items (item_id, name, description, start_price, min_increment, ends_at, created_at,
             extend_window_s, max_end_at, reserve_price, relisted_from)
           SELECT i, n, d, s, m, to_timestamp(e / 1000.0), to_timestamp(c / 1000.0), w, to_timestamp(me / 1000.0), r, f
           FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
                       $8::int[], $9::bigint[], $10::bigint[], $11::text[])
             AS x(i, n, d, s, m, e, c, w, me, r, f)
           ON CONFLICT (item_id) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description,
             start_price = EXCLUDED.start_price, min_increment = EXCLUDED.min_increment,
             ends_at = GREATEST(items.ends_at, EXCLUDED.ends_at), created_at = EXCLUDED.created_at,
             extend_window_s = EXCLUDED.extend_window_s, max_end_at = EXCLUDED.max_end_at,
             reserve_price = EXCLUDED.reserve_price, relisted_from = EXCLUDED.relisted_from`,
          [
            details.map((i) => i.item_id),
            details.map((i) => i.name),
            details.map((i) => i.description),
            details.map((i) => i.start_price),
            details.map((i) => i.min_increment),
            details.map((i) => i.ends_at),
            details.map((i) => i.created_at),
            details.map((i) => i.extend_window_s),
            details.map((i) => i.max_end_at),
            details.map((i) => i.reserve_price),
            details.map((i) => i.relisted_from),
          ],
        );
      }
      if (changes.length > 0) await this.storeChanges(client, changes);
      if (highest.length > 0) {
        // The item row exists before its bids reference it; current_bid only rises, so replays and
        // batches archived out of order (after a takeover) leave the highest bid in place.
        await client.query(
          `INSERT INTO items (item_id, current_bid, highest_bidder_id)
           SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])
           ON CONFLICT (item_id) DO UPDATE
             SET current_bid = EXCLUDED.current_bid, highest_bidder_id = EXCLUDED.highest_bidder_id, updated_at = now()
             WHERE items.current_bid < EXCLUDED.current_bid`,
          [highest.map((b) => b.item_id), highest.map((b) => b.amount), highest.map((b) => b.user_id)],
        );
        await client.query(
          `INSERT INTO bids (bid_id, item_id, user_id, amount, previous_bid, seq, event_id, placed_at, auto)
           SELECT b, i, u, a, p, s, e, to_timestamp(t / 1000.0), o
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::int[], $7::text[],
                       $8::bigint[], $9::bool[]) AS x(b, i, u, a, p, s, e, t, o)
           ON CONFLICT (bid_id) DO NOTHING`,
          [
            bids.map((b) => b.bid_id),
            bids.map((b) => b.item_id),
            bids.map((b) => b.user_id),
            bids.map((b) => b.amount),
            bids.map((b) => b.previous_bid),
            bids.map((b) => b.seq),
            bids.map((b) => b.event_id),
            bids.map((b) => b.timestamp),
            bids.map((b) => b.auto),
          ],
        );
      }
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Extensions raise ends_at; a close sets the outcome (the status only while still open, since the
   * settlement may have been archived first); a settlement sets its result and, when settled, the status.
   */
  private async storeChanges(client: pg.PoolClient, changes: ItemChange[]): Promise<void> {
    const extendedTo = new Map<string, number>();
    const closes = new Map<string, ClosedEvent>();
    const settles = new Map<string, SettledEvent>();
    for (const e of changes) {
      if (e.type === "extended")
        extendedTo.set(e.item_id, Math.max(e.ends_at, extendedTo.get(e.item_id) ?? 0));
      else if (e.type === "closed") closes.set(e.item_id, e);
      else settles.set(e.item_id, e);
    }
    await client.query(
      "INSERT INTO items (item_id) SELECT unnest($1::text[]) ORDER BY 1 ON CONFLICT (item_id) DO NOTHING",
      [[...new Set(changes.map((e) => e.item_id))].sort()],
    );
    await client.query(
      `INSERT INTO item_events (event_id, item_id, type, seq, at, data)
       SELECT e, i, t, s, to_timestamp(a / 1000.0), d
       FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::jsonb[]) AS x(e, i, t, s, a, d)
       ON CONFLICT (event_id) DO NOTHING`,
      [
        changes.map((e) => e.event_id),
        changes.map((e) => e.item_id),
        changes.map((e) => e.type),
        changes.map((e) => e.seq),
        changes.map((e) => e.timestamp),
        changes.map((e) => JSON.stringify(eventData(e))),
      ],
    );
    const ext = byItem([...extendedTo].map(([item_id, ends_at]) => ({ item_id, ends_at })));
    if (ext.length > 0) {
      await client.query(
        `UPDATE items SET ends_at = GREATEST(items.ends_at, to_timestamp(x.e / 1000.0)), updated_at = now()
         FROM unnest($1::text[], $2::bigint[]) AS x(i, e) WHERE items.item_id = x.i`,
        [ext.map((e) => e.item_id), ext.map((e) => e.ends_at)],
      );
    }
    const closed = byItem(closes.values());
    if (closed.length > 0) {
      await client.query(
        `UPDATE items SET status = CASE WHEN items.status = 'open' THEN x.s ELSE items.status END,
           winner_id = x.w, final_amount = x.a, reserve_met = x.m, closed_at = to_timestamp(x.t / 1000.0),
           settlement_status = COALESCE(items.settlement_status, x.p), updated_at = now()
         FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bool[], $6::bigint[], $7::text[])
           AS x(i, s, w, a, m, t, p)
         WHERE items.item_id = x.i`,
        [
          closed.map((c) => c.item_id),
          closed.map((c) => c.status),
          closed.map((c) => c.winner_id),
          closed.map((c) => c.amount),
          closed.map((c) => c.reserve_met),
          closed.map((c) => c.timestamp),
          closed.map((c) => c.settlement_status),
        ],
      );
    }
    const settled = byItem(settles.values());
    if (settled.length > 0) {
      await client.query(
        `UPDATE items SET status = CASE WHEN x.s = 'settled' THEN 'settled' ELSE items.status END,
           settlement_status = x.s, order_id = x.o, relisted_as = x.r, updated_at = now()
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS x(i, s, o, r)
         WHERE items.item_id = x.i`,
        [
          settled.map((e) => e.item_id),
          settled.map((e) => e.settlement_status),
          settled.map((e) => e.order_id),
          settled.map((e) => e.relisted_as),
        ],
      );
    }
  }

  async summary(itemId: string): Promise<ArchiveSummary | undefined> {
    const item = await this.pool.query<{ current_bid: string }>(
      "SELECT current_bid FROM items WHERE item_id = $1",
      [itemId],
    );
    const row = item.rows[0];
    if (!row) return undefined;
    const bids = await this.pool.query<{ bid_id: string }>("SELECT bid_id FROM bids WHERE item_id = $1", [
      itemId,
    ]);
    const events = await this.pool.query<{ type: string }>(
      "SELECT type FROM item_events WHERE item_id = $1 ORDER BY seq",
      [itemId],
    );
    return {
      current_bid: Number(row.current_bid),
      bid_count: bids.rows.length,
      bid_ids: bids.rows.map((r) => r.bid_id),
      events: events.rows.map((r) => r.type),
    };
  }

  async bids(itemId: string, query: BidsQuery): Promise<Page<BidRecord>> {
    const { rows } = await this.pool.query<{
      bid_id: string;
      user_id: string;
      amount: string;
      auto: boolean;
      placed: string;
      seq: number;
    }>(
      `SELECT bid_id, user_id, amount, auto, (extract(epoch FROM placed_at) * 1000)::bigint AS placed, seq
       FROM bids WHERE item_id = $1 AND ($2::int IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3`,
      [itemId, query.before ?? null, query.limit + 1],
    );
    const entries = rows.slice(0, query.limit).map(
      (r): BidRecord => ({
        bid_id: r.bid_id,
        user_id: r.user_id,
        amount: Number(r.amount),
        auto: r.auto,
        timestamp: Number(r.placed),
        seq: r.seq,
      }),
    );
    return { entries, next: rows.length > query.limit ? String(entries.at(-1)?.seq) : undefined };
  }

  async ready(): Promise<void> {
    await this.pool.query("SELECT 1");
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
