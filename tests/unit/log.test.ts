import { expect, test } from "bun:test";
import { createLogger } from "../../src/observability/log.ts";

test("log lines are JSON with time, level, msg, the logger's fields and the line's own", () => {
  const out: string[] = [];
  const root = createLogger("info", (t) => out.push(t));
  const logger = root.child({ request_id: "r1" });
  logger.debug("hidden");
  logger.info("hello", { n: 1, s: 'quote " and \\' });
  root.fragment("info", "request", '"status":200');
  root.fragment("debug", "request", '"status":404');
  root.flush();
  const lines = out
    .join("")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatchObject({
    level: "info",
    msg: "hello",
    request_id: "r1",
    n: 1,
    s: 'quote " and \\',
  });
  expect(typeof lines[0]?.time).toBe("string");
  expect(lines[1]).toMatchObject({ level: "info", msg: "request", status: 200 });
});

test("a closed stdout (EPIPE) drops lines instead of throwing from the timer or spinning", async () => {
  let calls = 0;
  const logger = createLogger("info", () => {
    calls++;
    throw Object.assign(new Error("EPIPE: broken pipe, write"), { code: "EPIPE" });
  });
  logger.info("first");
  expect(() => logger.flush()).not.toThrow();
  logger.info("second");
  logger.flush();
  expect(calls).toBe(1);
});
