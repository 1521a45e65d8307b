import { createClient } from "redis";

export const REDIS_URL = "redis://127.0.0.1:6379";
export const DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";

/** A name unique to this test run: Redis key prefix and PostgreSQL schema, so parallel runs never collide. */
export const runId = (label: string) =>
  `test_${label}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;

export async function redisClient(url = REDIS_URL) {
  const client = createClient({ url });
  client.on("error", () => {});
  await client.connect();
  return client;
}

/** Deletes every key under `prefix` (SCAN, never KEYS, on the shared Redis). */
export async function dropRedisPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const client = await redisClient(url);
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await client.del(keys);
    }
  } finally {
    await client.close();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  const pg = (await import("pg")).default;
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

export async function sql<T extends Record<string, unknown>>(
  schema: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const pg = (await import("pg")).default;
  const client = new pg.Client({ connectionString: DATABASE_URL, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

export const future = (ms = 3_600_000) => new Date(Date.now() + ms).toISOString();

export async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export async function createItem(
  base: string,
  item: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) {
  const res = await post(
    `${base}/api/v1/items`,
    { name: "Lamp", start_price: 10, ends_at: future(), ...item },
    headers,
  );
  if (res.status !== 201) throw new Error(`create item: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { item_id: string };
}

export interface Frame {
  type: string;
  [k: string]: unknown;
}

/** A WebSocket subscriber that records every frame and how it closed. */
export class Subscriber {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly ws: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.ws.onopen = () => resolve();
      this.ws.onerror = () => reject(new Error(`websocket ${url} failed`));
    });
    this.ws.onmessage = (m) => this.frames.push(JSON.parse(String(m.data)) as Frame);
    this.ws.onclose = (e) => {
      this.closed = { code: e.code, reason: e.reason };
    };
  }

  bids(): Frame[] {
    return this.frames.filter((f) => f.type === "bid");
  }

  close(): void {
    this.ws.close();
  }

  /** Bun's client stops reading from the socket, so the server sees TCP backpressure (lib.dom lacks the type). */
  pause(): void {
    (this.ws as unknown as { pause(): boolean }).pause();
  }

  resume(): void {
    (this.ws as unknown as { resume(): boolean }).resume();
  }
}

/** Polls `check` until it returns true, for at most `ms`; the failing assertion comes after. */
export async function until(
  check: () => boolean | Promise<boolean>,
  ms = 10_000,
  step = 20,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await Bun.sleep(step);
  }
  return check();
}
