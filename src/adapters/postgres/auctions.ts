/**
 * The auction archive in PostgreSQL. Every write is idempotent so a batch may be replayed after a
 * crash between COMMIT and XACK: bids are keyed by bid_id, items are upserted, and an item's
 * current_bid only ever rises.
 */
import pg from "pg";
import type { Config } from "../../config.ts";
import type { BidArchive, BidEvent, NewItem, StreamEvent } from "../../domain/auctions.ts";
import { connectionConfig, type PasswordSource, passwordSource } from "./connection.ts";

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
];

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

export class PostgresBidArchive implements BidArchive {
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
    this.pool.on("connect", (client) => client.on("error", () => {}));
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
    for (const e of events) {
      if (e.type === "item") {
        items.set(e.item.item_id, e.item);
        continue;
      }
      bids.push(e);
      const best = top.get(e.item_id);
      if (!best || e.amount > best.amount) top.set(e.item_id, e);
    }
    // Rows are locked in item_id order in every statement, so two archivers cannot deadlock.
    const details = [...items.values()].sort((a, b) => (a.item_id < b.item_id ? -1 : 1));
    const highest = [...top.values()].sort((a, b) => (a.item_id < b.item_id ? -1 : 1));

    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      if (details.length > 0) {
        await client.query(
          `INSERT INTO items (item_id, name, description, start_price, min_increment, ends_at, created_at)
           SELECT i, n, d, s, m, to_timestamp(e / 1000.0), to_timestamp(c / 1000.0)
           FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
             AS x(i, n, d, s, m, e, c)
           ON CONFLICT (item_id) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description,
             start_price = EXCLUDED.start_price, min_increment = EXCLUDED.min_increment,
             ends_at = EXCLUDED.ends_at, created_at = EXCLUDED.created_at`,
          [
            details.map((i) => i.item_id),
            details.map((i) => i.name),
            details.map((i) => i.description),
            details.map((i) => i.start_price),
            details.map((i) => i.min_increment),
            details.map((i) => i.ends_at),
            details.map((i) => i.created_at),
          ],
        );
      }
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
          `INSERT INTO bids (bid_id, item_id, user_id, amount, previous_bid, seq, event_id, placed_at)
           SELECT b, i, u, a, p, s, e, to_timestamp(t / 1000.0)
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::int[], $7::text[],
                       $8::bigint[]) AS x(b, i, u, a, p, s, e, t)
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

  async summary(itemId: string) {
    const item = await this.pool.query<{ current_bid: string }>(
      "SELECT current_bid FROM items WHERE item_id = $1",
      [itemId],
    );
    const row = item.rows[0];
    if (!row) return undefined;
    const bids = await this.pool.query<{ bid_id: string }>("SELECT bid_id FROM bids WHERE item_id = $1", [
      itemId,
    ]);
    return {
      current_bid: Number(row.current_bid),
      bid_count: bids.rows.length,
      bid_ids: bids.rows.map((r) => r.bid_id),
    };
  }

  async ready(): Promise<void> {
    await this.pool.query("SELECT 1");
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
