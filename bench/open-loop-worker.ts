/**
 * The open-loop generator (see openLoop in lib.ts): `bun bench/open-loop-worker.ts URL OPTIONS_JSON`,
 * prints one JSON result. Raw sockets rather than fetch: fetch on one core tops out well below what a
 * server core answers, and a generator that cannot keep its schedule measures itself.
 */
import type { Socket } from "bun";
import {
  dueBy,
  encodeResult,
  intendedAt,
  type OpenLoopOptions,
  type OpenLoopResult,
  type OpenLoopWorkload,
  percentile,
  ResponseStream,
  summarise,
} from "./lib.ts";

const [url, json] = process.argv.slice(2);
if (!url || !json) throw new Error("usage: bun bench/open-loop-worker.ts URL OPTIONS_JSON");
const opts = JSON.parse(json) as OpenLoopOptions;
const { hostname, port } = new URL(url);
const host = `${hostname}:${port}`;

const cents = (c: number) => `${Math.floor(c / 100)}.${String(c % 100).padStart(2, "0")}`;
const post = (path: string, body: string) =>
  `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

/** The raw request `i` of a workload. */
function requestFor(w: OpenLoopWorkload, i: number): string {
  switch (w.kind) {
    case "get":
      return `GET ${w.pathPrefix}${1 + Math.floor(Math.random() * w.ids)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    case "post":
      return post(w.path, w.body);
    case "post-each":
      return `POST ${w.pathPrefix}${w.first + i}${w.pathSuffix} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0\r\n\r\n`;
    case "bid":
      // Rising amounts: each bid outbids the last, as in a lively auction.
      return post(w.path, `{"user_id":"bidder-${i % 1000}","amount":${cents(i + 1)}}`);
  }
}

interface Conn {
  socket: Socket<undefined>;
  /** The request in flight on this socket, or -1: one at a time, as a load balancer sends. */
  current: number;
  stream: ResponseStream;
  closed: boolean;
}

const total = Math.round(opts.rate * opts.seconds);
const warm = Math.round(opts.rate * (opts.warmupSeconds ?? 0));
const latency = new Float64Array(total).fill(Number.POSITIVE_INFINITY);
const status = new Uint16Array(total);
const lag = new Float64Array(total);
let t0 = 0;
let answered = 0;
let closedSockets = 0;

/**
 * Due requests that found every socket busy, oldest first: sent as sockets free up, their latency still
 * counted from their intended time. No pipelining: shop closes a connection that pipelines requests with
 * bodies, and a load balancer does not pipeline either.
 */
const waiting: number[] = [];
let waitingHead = 0;
const idle: Conn[] = [];

function send(conn: Conn, i: number, now: number) {
  conn.current = i;
  lag[i] = now - intendedAt(t0, i, opts.rate);
  conn.socket.write(requestFor(opts.workload, i));
}

const conns: Conn[] = [];
for (let c = 0; c < opts.connections; c++) {
  const conn: Conn = {
    socket: undefined as unknown as Socket<undefined>,
    current: -1,
    stream: new ResponseStream(),
    closed: false,
  };
  conn.socket = await Bun.connect({
    hostname,
    port: Number(port),
    socket: {
      data(_s, chunk) {
        const now = performance.now();
        for (const code of conn.stream.push(chunk)) {
          const i = conn.current;
          latency[i] = now - intendedAt(t0, i, opts.rate);
          status[i] = code;
          answered++;
          conn.current = -1;
        }
        if (conn.current >= 0) return;
        if (waitingHead < waiting.length) send(conn, waiting[waitingHead++] as number, now);
        else idle.push(conn);
      },
      error(_s, err) {
        console.error(`open-loop socket error: ${err.message}`);
      },
      close() {
        // What was in flight on it stays unanswered; nothing more is sent on it.
        conn.closed = true;
        closedSockets++;
      },
    },
  });
  conns.push(conn);
  idle.push(conn);
}

let scheduled = 0;
const finished = Promise.withResolvers<void>();
function tick() {
  const now = performance.now();
  const due = dueBy(t0, now, opts.rate, total);
  for (; scheduled < due; scheduled++) {
    let conn = idle.pop();
    while (conn?.closed) conn = idle.pop();
    if (conn) send(conn, scheduled, now);
    else waiting.push(scheduled);
  }
  if (scheduled < total) {
    const wait = intendedAt(t0, scheduled, opts.rate) - performance.now();
    // Timers are coarse (~1 ms); closer than that, yield to I/O and look again.
    if (wait > 2) setTimeout(tick, wait - 1);
    else setImmediate(tick);
  } else finished.resolve();
}
t0 = performance.now();
tick();
await finished.promise;
const deadline = performance.now() + (opts.drainSeconds ?? 5) * 1000;
while (answered < total && closedSockets < conns.length && performance.now() < deadline) await Bun.sleep(5);
if (closedSockets > 0)
  console.error(`open-loop: the server closed ${closedSockets} of ${conns.length} sockets`);
for (const c of conns) c.socket.end();

const measured = latency.subarray(warm);
const statuses: Record<string, number> = {};
let unanswered = 0;
for (let i = warm; i < total; i++) {
  const code = status[i] as number;
  if (code === 0) unanswered++;
  else {
    const cls = `${Math.floor(code / 100)}xx`;
    statuses[cls] = (statuses[cls] ?? 0) + 1;
  }
}
const result: OpenLoopResult = {
  ...summarise(measured),
  rate: opts.rate,
  measured: measured.length,
  answered: measured.length - unanswered,
  unanswered,
  statuses,
  sendLagP99Ms: percentile(Float64Array.from(lag.subarray(warm)).sort(), 99),
};
process.stdout.write(encodeResult(result));
process.exit(0);
