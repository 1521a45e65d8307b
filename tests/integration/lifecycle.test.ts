import { describe, expect, test } from "bun:test";
import { freePort, json, MAIN, spawnShop } from "../helpers/shop.ts";

const run = async (args: string[], env: Record<string, string> = {}) => {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, out, err] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  return { code, out, err };
};

describe("command line", () => {
  test("an unknown role exits 2 listing the valid roles", async () => {
    const r = await run(["--role", "nope"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("valid roles: api, processor, bidder, broadcaster, archiver, all");
  });

  test("an unknown flag exits 2 listing the valid flags", async () => {
    const r = await run(["--rolez", "api"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--list-roles");
  });

  test("an invalid variable stops startup naming every bad variable", async () => {
    const r = await run(["--role", "api"], { PORT: "abc", BODY_LIMIT_BYTES: "0" });
    expect(r.code).toBe(1);
    expect(r.err).toContain('PORT="abc"');
    expect(r.err).toContain("BODY_LIMIT_BYTES");
  });

  test("--list-roles shows each role with its modules; all is the union", async () => {
    const r = await run(["--list-roles"]);
    expect(r.code).toBe(0);
    const roles = Object.fromEntries(
      r.out
        .trim()
        .split("\n")
        .map((l) => {
          const [role = "", modules = ""] = l.split(/\s+(.*)/);
          return [role, modules.split(", ")];
        }),
    );
    expect(Object.keys(roles)).toEqual([
      "api",
      "processor",
      "bidder",
      "broadcaster",
      "archiver",
      "all",
      "processor@lambda",
    ]);
    expect(roles.api).toContain("productsApi");
    const union = new Set(
      ["api", "processor", "bidder", "broadcaster", "archiver"].flatMap((x) => roles[x] ?? []),
    );
    expect(new Set(roles.all)).toEqual(union);
    // On Lambda the Runtime API loop replaces the poller and the HTTP server; the worker is the same.
    expect(roles["processor@lambda"]).toContain("orderWorker");
    expect(roles["processor@lambda"]).not.toContain("orderProcessor");
    expect(roles["processor@lambda"]).not.toContain("server");
  });

  test("--version names version, revision and runtime; --help shows usage", async () => {
    expect((await run(["--version"])).out).toMatch(/^shop \d+\.\d+\.\d+ \(revision \S+, bun \d/);
    expect((await run(["--help"])).out).toContain("shop healthcheck");
  });

  test("config prints the effective configuration with secrets redacted", async () => {
    const r = await run(["config"], { ADMIN_TOKEN: "super-secret-admin-token", PORT: "9999" });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/PORT\s+9999\s+\(env\)/);
    expect(r.out).toMatch(/ADMIN_TOKEN\s+\[redacted\]/);
    expect(r.out).not.toContain("super-secret-admin-token");
  });

  test("healthcheck exits 0 against a live server and 1 when nothing answers", async () => {
    const shop = await spawnShop(["--role", "api"]);
    try {
      expect((await run(["healthcheck", "--url", `${shop.url}/health`])).code).toBe(0);
      expect((await run(["healthcheck"], { PORT: new URL(shop.url).port })).code).toBe(0);
      expect((await run(["healthcheck", "--url", `http://127.0.0.1:${freePort()}/health`])).code).toBe(1);
      expect((await run(["healthcheck", "--url", `${shop.url}/nope`])).code).toBe(1);
    } finally {
      shop.proc.kill("SIGTERM");
      await shop.proc.exited;
    }
  });
});

describe("roles", () => {
  const check = async (role: string, env: Record<string, string> = {}) => {
    const shop = await spawnShop(["--role", role], env);
    try {
      expect((await fetch(`${shop.url}/health`)).status).toBe(200);
      expect((await fetch(`${shop.url}/ready`)).status).toBe(200);
      expect(await (await fetch(`${shop.url}/metrics`)).text()).toContain("http_requests_total");
    } finally {
      shop.proc.kill("SIGTERM");
      expect(await shop.proc.exited).toBe(0);
    }
  };

  test.each(["api", "all", "api,processor", "bidder,broadcaster,archiver"])(
    "--role %s starts on embedded defaults and serves health, readiness and metrics",
    (role) => check(role),
  );

  // Separate processes cannot share memory: these roles need their shared backends configured.
  test.each([
    ["processor", "SQS_QUEUE_URL"],
    ["bidder", "REDIS_URL"],
    ["broadcaster", "REDIS_URL"],
    ["archiver", "REDIS_URL"],
  ])("--role %s alone on embedded defaults refuses to start, naming %s", async (role, variable) => {
    const r = await run(["--role", role], { PORT: "0" });
    expect(r.code).toBe(1);
    expect(r.err).toContain(variable);
  });

  test.each(["bidder", "broadcaster", "archiver"])(
    "--role %s starts with Redis and PostgreSQL configured",
    async (role) => {
      const tag = `lifecycle_${role}_${process.pid}_${Date.now().toString(36)}`;
      await check(role, {
        REDIS_URL: "redis://127.0.0.1:6379",
        REDIS_KEY_PREFIX: `${tag}:`,
        DATABASE_URL: "postgres://postgres@127.0.0.1:5432/test",
        DATABASE_SCHEMA: tag,
      });
      if (role === "archiver") {
        await Bun.$`psql -h 127.0.0.1 -U postgres -d test -q -c ${`DROP SCHEMA IF EXISTS ${tag} CASCADE`}`.quiet();
      }
    },
  );

  test("a module failing at start stops the process with a non-zero code", async () => {
    const busy = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    try {
      const r = await run(["--role", "api"], { PORT: String(busy.port), HOST: "127.0.0.1" });
      expect(r.code).toBe(1);
      expect(r.out + r.err).toContain("server");
    } finally {
      busy.stop(true);
    }
  });
});

/** Writes an HTTP request by hand so the body can be held back while the server shuts down. */
async function slowPost(port: number, path: string, body: string) {
  let response = "";
  let closed: () => void = () => {};
  const done = new Promise<void>((r) => {
    closed = r;
  });
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data: (_s, chunk) => {
        response += chunk.toString();
      },
      close: () => closed(),
      end: () => closed(),
      error: () => closed(),
    },
  });
  const half = Math.floor(body.length / 2);
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, half)}`,
  );
  return {
    finish: async () => {
      socket.write(body.slice(half));
      await Promise.race([done, Bun.sleep(5000)]);
      return response;
    },
  };
}

describe("graceful shutdown", () => {
  test("SIGTERM: /ready turns 503, the in-flight request completes, the process exits 0", async () => {
    const shop = await spawnShop(["--role", "api"], { SHUTDOWN_DRAIN_MS: "400", LOG_LEVEL: "info" });
    const port = Number(new URL(shop.url).port);
    const product = JSON.stringify({
      product_id: 9,
      sku: "S",
      manufacturer: "M",
      category_id: 1,
      weight: 1,
      some_other_id: 1,
    });
    const pending = await slowPost(port, "/products/9/details", product);
    await Bun.sleep(50);
    shop.proc.kill("SIGTERM");
    await Bun.sleep(100);
    const ready = await fetch(`${shop.url}/ready`);
    expect(ready.status).toBe(503);
    expect(await json(ready)).toMatchObject({ error: "NOT_READY" });
    expect((await fetch(`${shop.url}/health`)).status).toBe(200);
    // Past the drain window the server stops accepting while our request is still unfinished.
    await Bun.sleep(500);
    expect(
      await fetch(`${shop.url}/health`).then(
        () => "answered",
        () => "refused",
      ),
    ).toBe("refused");
    const response = await pending.finish();
    expect(response).toStartWith("HTTP/1.1 204");
    expect(await shop.proc.exited).toBe(0);
    const out = await shop.output();
    expect(out).toContain('"msg":"shutting down"');
    expect(out).toContain('"exit_code":0');
  });

  test("a closed stdout (log reader gone) neither crashes nor spins the process", async () => {
    // debug: the 404s below are access lines at debug, written into the closed pipe.
    const shop = await spawnShop(["--role", "api"], { LOG_LEVEL: "debug" });
    await shop.proc.stdout.cancel();
    for (let i = 0; i < 20; i++) expect((await fetch(`${shop.url}/products/${i + 1}`)).status).toBe(404);
    expect((await fetch(`${shop.url}/health`)).status).toBe(200);
    shop.proc.kill("SIGTERM");
    expect(await shop.proc.exited).toBe(0);
    expect(await new Response(shop.proc.stderr).text()).not.toContain("EPIPE");
  });

  test("SIGINT also shuts down cleanly", async () => {
    const shop = await spawnShop(["--role", "all"]);
    shop.proc.kill("SIGINT");
    expect(await shop.proc.exited).toBe(0);
  });
});
