/**
 * What credentials cost on the hottest path: GET /products/{id} on the compiled binary (memory store, 10k
 * products) open, with an API key, and with a JWT a hot client reuses (verified once, then served from the
 * token cache), all in the same run. Two servers (open; credentials enforced with API_KEYS and a JWKS
 * served by this script), pinned to one core and measured in turn; wrk on the other core. Prints CPU per
 * request of each and the ratios against open (target: cached JWT <= 1.10); "open+bytes" sends the JWT to
 * the open server, which ignores it: the share of the difference that is the bigger request alone.
 */
import { existsSync } from "node:fs";
import { demoProduct } from "../src/domain/products.ts";
import { AUDIENCE, claims, ISSUER, startIdp } from "../tests/helpers/jwks.ts";
import { formatResult, freePort, ROOT, startPinned, stop, type WrkResult, wrk } from "./lib.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

if (!existsSync(`${ROOT}shop`)) await Bun.$`bun run build`.cwd(ROOT).quiet();

const KEY = `bench-${crypto.randomUUID()}`;
const idp = await startIdp();
const token = await idp.sign(
  claims("bench", "catalog:read catalog:write", { exp: Math.floor(Date.now() / 1000) + 3600 }),
);

const base = { HOST: "127.0.0.1", SHUTDOWN_DRAIN_MS: "0" };
const openPort = freePort();
const securedPort = freePort();
const open = await startPinned(
  ["./shop", "--role", "api"],
  { ...base, PORT: String(openPort) },
  `http://127.0.0.1:${openPort}/ready`,
);
const secured = await startPinned(
  ["./shop", "--role", "api"],
  {
    ...base,
    PORT: String(securedPort),
    API_KEYS: JSON.stringify([{ name: "bench", key: KEY, scopes: ["catalog:read", "catalog:write"] }]),
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    JWT_JWKS_URL: idp.jwksUrl,
  },
  `http://127.0.0.1:${securedPort}/ready`,
);

async function seed(port: number) {
  for (let id = 1; id <= 10_000; id += 100) {
    await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const res = await fetch(`http://127.0.0.1:${port}/products/${id + i}/details`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": KEY },
          body: JSON.stringify(demoProduct(id + i)),
        });
        if (res.status !== 204) throw new Error(`seeding: ${res.status}`);
      }),
    );
  }
}
await Promise.all([seed(openPort), seed(securedPort)]);

const script = (header?: [string, string]) => `math.randomseed(os.time())
${header ? `wrk.headers["${header[0]}"] = "${header[1]}"` : ""}
request = function()
  return wrk.format("GET", "/products/" .. math.random(1, 10000))
end
`;
const variants = {
  open: { port: openPort, pid: open.pid, script: script() },
  // The token's bytes without their check: what a bigger request costs the server by itself.
  "open+bytes": { port: openPort, pid: open.pid, script: script(["Authorization", `Bearer ${token}`]) },
  "api key": { port: securedPort, pid: secured.pid, script: script(["X-API-Key", KEY]) },
  "cached jwt": { port: securedPort, pid: secured.pid, script: script(["Authorization", `Bearer ${token}`]) },
} as const;
type Variant = keyof typeof variants;
const names = Object.keys(variants) as Variant[];
const results: Record<Variant, WrkResult[]> = { open: [], "open+bytes": [], "api key": [], "cached jwt": [] };

console.log(
  `GET /products/{id} open vs API key vs cached JWT, ${connections} connections, ${seconds}s x ${rounds} rounds`,
);
try {
  for (const name of names) {
    const v = variants[name];
    const warm = await wrk(`http://127.0.0.1:${v.port}`, { connections, seconds: 2, script: v.script });
    if (warm.non2xx > 0) throw new Error(`${name}: ${warm.non2xx} non-2xx answers while warming`);
  }
  for (let r = 0; r < rounds; r++) {
    for (const name of names) {
      const v = variants[name];
      results[name].push(
        await wrk(`http://127.0.0.1:${v.port}`, { connections, seconds, script: v.script, pid: v.pid }),
      );
    }
  }
} finally {
  await Promise.all([stop(open), stop(secured)]);
  idp.stop();
}

const median = (xs: WrkResult[], by: (r: WrkResult) => number) => {
  const sorted = [...xs].sort((a, b) => by(a) - by(b));
  return sorted[Math.floor((sorted.length - 1) / 2)] as WrkResult;
};
for (const name of names) {
  for (const [i, r] of results[name].entries())
    console.log(`round ${i + 1} ${name.padEnd(10)} ${formatResult(r)}`);
}
const cpuPerRequestUs = (name: Variant) =>
  1e6 / (median(results[name], (r) => r.perCpuSecond ?? 0).perCpuSecond ?? Number.NaN);
const instructions = (name: Variant) =>
  median(results[name], (r) => r.instructionsPerRequest ?? 0).instructionsPerRequest;
const baseline = cpuPerRequestUs("open");
for (const name of names) {
  const cpu = cpuPerRequestUs(name);
  const instr = instructions(name);
  const openInstr = instructions("open");
  console.log(
    `${name.padEnd(10)} ${cpu.toFixed(1)} µs CPU/request (x${(cpu / baseline).toFixed(3)} of open)` +
      (instr && openInstr
        ? `, ${(instr / 1000).toFixed(1)}k instr/request (x${(instr / openInstr).toFixed(3)})`
        : "") +
      `, errors ${results[name].reduce((n, r) => n + r.non2xx + r.socketErrors, 0)}`,
  );
}
console.log(`target: cached jwt <= x1.10 of open CPU per request`);
