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
  /** Indices of the requests in flight on this socket, in send order (HTTP/1.1 answers in order). */
  inFlight: number[];
  head: number;
  stream: ResponseStream;
  /** Requests of this tick not yet written. */
  out: string;
}

const total = Math.round(opts.rate * opts.seconds);
const warm = Math.round(opts.rate * (opts.warmupSeconds ?? 0));
const latency = new Float64Array(total).fill(Number.POSITIVE_INFINITY);
const status = new Uint16Array(total);
const lag = new Float64Array(total);
let t0 = 0;
let answered = 0;

const conns: Conn[] = [];
const idle: Conn[] = [];
for (let c = 0; c < opts.connections; c++) {
  const conn = {} as Conn;
  conn.inFlight = [];
  conn.head = 0;
  conn.out = "";
  conn.stream = new ResponseStream();
  conn.socket = await Bun.connect({
    hostname,
    port: Number(port),
    socket: {
      data(_s, chunk) {
        const now = performance.now();
        for (const code of conn.stream.push(chunk)) {
          const i = conn.inFlight[conn.head++] as number;
          latency[i] = now - intendedAt(t0, i, opts.rate);
          status[i] = code;
          answered++;
        }
        if (conn.head === conn.inFlight.length) {
          conn.inFlight.length = 0;
          conn.head = 0;
          idle.push(conn);
        }
      },
      error(_s, err) {
        console.error(`open-loop socket error: ${err.message}`);
      },
    },
  });
  conns.push(conn);
  idle.push(conn);
}

let sent = 0;
let next = 0;
const touched: Conn[] = [];
const finished = Promise.withResolvers<void>();
function tick() {
  const now = performance.now();
  const due = dueBy(t0, now, opts.rate, total);
  for (; sent < due; sent++) {
    // An idle socket if there is one; else pipeline behind the answers on the next busy one.
    const conn = idle.pop() ?? (conns[next++ % conns.length] as Conn);
    conn.inFlight.push(sent);
    lag[sent] = now - intendedAt(t0, sent, opts.rate);
    if (conn.out === "") touched.push(conn);
    conn.out += requestFor(opts.workload, sent);
  }
  // One write per socket per tick: a write per request was the generator's largest cost.
  // A socket whose kernel buffer is full (a stalled server) keeps the rest for the next tick; requests
  // are ASCII, so bytes written are characters written.
  let kept = 0;
  for (const conn of touched) {
    const written = conn.socket.write(conn.out);
    conn.out = written < conn.out.length ? conn.out.slice(Math.max(0, written)) : "";
    if (conn.out !== "") touched[kept++] = conn;
  }
  touched.length = kept;
  if (sent < total || touched.length > 0) {
    const wait = intendedAt(t0, sent, opts.rate) - performance.now();
    // Timers are coarse (~1 ms); closer than that, yield to I/O and look again.
    if (wait > 2) setTimeout(tick, wait - 1);
    else setImmediate(tick);
  } else finished.resolve();
}
t0 = performance.now();
tick();
await finished.promise;
const deadline = performance.now() + (opts.drainSeconds ?? 5) * 1000;
while (answered < total && performance.now() < deadline) await Bun.sleep(5);
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
