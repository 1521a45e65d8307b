import { expect, test } from "bun:test";
import { sample } from "../helpers/product-contract.ts";
import { freePort, json, MAIN, ROOT, spawnShop } from "../helpers/shop.ts";

// Portability check: the same sources serve the product API under Deno.
test("deno run src/main.ts --role api serves the product API and stops on SIGTERM", async () => {
  const deno = Bun.which("deno");
  if (!deno) throw new Error("deno is not on PATH: .ci/run installs it from npm (npm install -g deno)");
  const port = String(freePort());
  const shop = await spawnShop(["--role", "api"], { PORT: port, DENO_NO_UPDATE_CHECK: "1" }, [
    deno,
    "run",
    "-A",
    "--no-lock",
    `--config=${ROOT}deno.json`,
    MAIN,
  ]);
  try {
    const post = await fetch(`${shop.url}/products/77/details`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(sample(77)),
    });
    expect(post.status).toBe(204);
    const got = await fetch(`${shop.url}/products/77`);
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual(sample(77));
    const bad = await fetch(`${shop.url}/products/1e3`);
    expect(bad.status).toBe(400);
    expect(await json(bad)).toMatchObject({ error: "INVALID_INPUT" });
    const version = Bun.spawnSync([
      deno,
      "run",
      "-A",
      "--no-lock",
      `--config=${ROOT}deno.json`,
      MAIN,
      "--version",
    ]);
    expect(version.stdout.toString()).toContain("deno ");
  } finally {
    shop.proc.kill("SIGTERM");
    expect(await shop.proc.exited).toBe(0);
  }
});
