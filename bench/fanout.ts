/**
 * Broadcaster fan-out: one shop (--role all, core BENCH_SERVER_CORE) serving --subscribers WebSockets
 * on one item while this process (pinned to BENCH_LOAD_CORE) places --rate bids/s for --seconds and
 * measures, per delivered frame, the delay from the bid's acceptance to its arrival.
 * Usage: bun bench/fanout.ts [--subscribers 10000] [--rate 20] [--seconds 10]
 */
import { arg, LOAD_CORE, num, SERVER_CORE, startShop } from "./lib.ts";

const subscribers = arg("subscribers", 10_000);
const rate = arg("rate", 20);
const seconds = arg("seconds", 10);
await Bun.spawn(["taskset", "-a", "-p", "-c", LOAD_CORE, String(process.pid)], { stdout: "ignore" }).exited;

const shop = await startShop(["--role", "all"], { LOG_LEVEL: "warn" }, { stdout: "inherit" });
const base = shop.url;
const sockets: WebSocket[] = [];
try {
  await fetch(`${base}/api/v1/items`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ item_id: "fan", name: "fan", start_price: 0.01, ends_at: "2099-01-01T00:00:00Z" }),
  });
  const delays: number[] = [];
  let snapshots = 0;
  const url = `${base.replace("http", "ws")}/ws/items/fan`;
  for (let i = 0; i < subscribers; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, subscribers - i) }, () => {
        const ws = new WebSocket(url);
        sockets.push(ws);
        ws.onmessage = (m) => {
          const f = JSON.parse(String(m.data)) as { type: string; timestamp?: string };
          if (f.type === "snapshot") snapshots++;
          else delays.push(Date.now() - Date.parse(f.timestamp as string));
        };
        return new Promise((resolve, reject) => {
          ws.onopen = resolve;
          ws.onerror = () => reject(new Error("websocket failed"));
        });
      }),
    );
  }
  while (snapshots < subscribers) await Bun.sleep(20);

  let accepted = 0;
  const end = Date.now() + seconds * 1000;
  for (let cents = 1; Date.now() < end; cents++) {
    const res = await fetch(`${base}/api/v1/items/fan/bid`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user_id: "bench", amount: cents / 100 }),
    });
    if (res.status === 201) accepted++;
    await res.body?.cancel();
    await Bun.sleep(1000 / rate);
  }
  const expected = accepted * subscribers;
  const deadline = Date.now() + 30_000;
  while (delays.length < expected && Date.now() < deadline) await Bun.sleep(50);
  delays.sort((a, b) => a - b);
  const q = (p: number) => delays[Math.min(delays.length - 1, Math.floor(p * delays.length))] ?? Number.NaN;
  console.log(
    `\nfan-out: ${num(subscribers)} subscribers, ${num(accepted)} bids at ~${rate}/s: delivered ${num(delays.length)} of ${num(expected)} frames; ` +
      `delay p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${delays.at(-1)} ms (shop on core ${SERVER_CORE}, clients on core ${LOAD_CORE})`,
  );
} finally {
  for (const ws of sockets) ws.close();
  await shop.stop();
}
