/**
 * Smoke test of the compiled binary: copied alone into an empty directory (no node_modules beside
 * it), started with every role, run through scripts/smoke.ts (steps from argv[3], comma-separated,
 * default all), then stopped with SIGTERM (must exit 0). Prints time to ready and idle RSS.
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "./free-port.ts";
import { runSmoke, STEPS } from "./smoke.ts";

const binary = resolve(process.argv[2] ?? "shop");
const dir = mkdtempSync(join(tmpdir(), "shop-smoke-"));
const target = join(dir, "shop");
copyFileSync(binary, target);

const port = freePort();
const base = `http://127.0.0.1:${port}`;

const started = performance.now();
const steps = process.argv[3]?.split(",") ?? STEPS.map((s) => s.name);
// Credentials enforced, as deployed: the smoke authenticates with a key and with ADMIN_TOKEN.
const apiKey = `smoke-${crypto.randomUUID()}`;
const adminToken = `smoke-admin-${crypto.randomUUID()}`;
const API_KEYS = JSON.stringify([
  {
    name: "smoke",
    key: apiKey,
    scopes: ["catalog:read", "catalog:write", "carts", "warehouse", "payments", "orders", "bids"],
  },
]);
const proc = Bun.spawn([target, "--role", "all"], {
  cwd: dir,
  env: {
    PATH: "/usr/bin:/bin",
    PORT: String(port),
    SHUTDOWN_DRAIN_MS: "100",
    LOG_LEVEL: "warn",
    API_KEYS,
    ADMIN_TOKEN: adminToken,
  },
  stdout: "inherit",
  stderr: "inherit",
});

function fail(step: string, detail: string): never {
  console.error(`binary smoke: FAILED at ${step}: ${detail}`);
  proc.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
}

let readyMs = -1;
for (let i = 0; i < 400 && readyMs < 0; i++) {
  try {
    if ((await fetch(`${base}/ready`)).status === 200) readyMs = performance.now() - started;
  } catch {
    await Bun.sleep(5);
  }
}
if (readyMs < 0) fail("ready", "no 200 from /ready within the wait");

// Idle RSS: measured before the smoke traffic.
const rss = (await Bun.$`ps -o rss= -p ${proc.pid}`.nothrow().text()).trim();
const results = await runSmoke(
  { baseUrl: base, wsUrl: base.replace(/^http/, "ws"), adminToken, apiKey, timeoutMs: 20_000 },
  steps,
  (r) => console.log(`  ${r.ok ? "ok  " : "FAIL"} ${r.name} (${r.ms.toFixed(0)} ms) ${r.detail}`),
);
const failedSteps = results.filter((r) => !r.ok).map((r) => r.name);
if (failedSteps.length > 0) fail(failedSteps.join(", "), "see above");
proc.kill("SIGTERM");
const code = await proc.exited;
if (code !== 0) fail("SIGTERM", `exit code ${code}`);
rmSync(dir, { recursive: true, force: true });
console.log(
  `binary smoke: ok, steps ${steps.join(", ")} (ready in ${readyMs.toFixed(0)} ms, idle RSS ${(Number(rss) / 1024).toFixed(1)} MB, ${(Bun.file(binary).size / 1e6).toFixed(1)} MB binary, exit 0 on SIGTERM)`,
);
