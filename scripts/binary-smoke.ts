/**
 * Smoke test of the compiled binary: copied alone into an empty directory (no node_modules beside
 * it), started, asked for health and the product API, then stopped with SIGTERM (must exit 0).
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const binary = resolve(process.argv[2] ?? "shop");
const dir = mkdtempSync(join(tmpdir(), "shop-smoke-"));
const target = join(dir, "shop");
copyFileSync(binary, target);

const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
const port = probe.port;
probe.stop(true);
const base = `http://127.0.0.1:${port}`;

const started = performance.now();
const proc = Bun.spawn([target, "--role", "api"], {
  cwd: dir,
  env: { PATH: "/usr/bin:/bin", PORT: String(port), SHUTDOWN_DRAIN_MS: "100", LOG_LEVEL: "warn" },
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

const health = await fetch(`${base}/health`);
if (health.status !== 200) fail("health", `status ${health.status}`);
const product = {
  product_id: 5,
  sku: "SMOKE-5",
  manufacturer: "Smoke",
  category_id: 1,
  weight: 10,
  some_other_id: 1,
};
const post = await fetch(`${base}/products/5/details`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(product),
});
if (post.status !== 204) fail("post product", `status ${post.status}`);
const get = await fetch(`${base}/products/5`);
const got = await get.text();
if (get.status !== 200 || got !== JSON.stringify(product)) fail("get product", `${get.status} ${got}`);
const bad = await fetch(`${base}/products/abc`);
if (bad.status !== 400) fail("invalid id", `status ${bad.status}`);

const rss = (await Bun.$`ps -o rss= -p ${proc.pid}`.nothrow().text()).trim();
proc.kill("SIGTERM");
const code = await proc.exited;
if (code !== 0) fail("SIGTERM", `exit code ${code}`);
rmSync(dir, { recursive: true, force: true });
console.log(
  `binary smoke: ok (ready in ${readyMs.toFixed(0)} ms, RSS ${(Number(rss) / 1024).toFixed(1)} MB, ${(Bun.file(binary).size / 1e6).toFixed(1)} MB binary, exit 0 on SIGTERM)`,
);
