import { describe, expect, test } from "bun:test";
import { ConfigError, describeConfig, loadConfig, redact } from "../../src/config.ts";

describe("configuration", () => {
  test("defaults apply when variables are unset or empty", () => {
    const c = loadConfig({ PORT: "" });
    expect(c.PORT).toBe(8080);
    expect(c.BODY_LIMIT_BYTES).toBe(65536);
    expect(c.SHUTDOWN_DRAIN_MS).toBe(5000);
    expect(c.LOG_LEVEL).toBe("info");
    expect(c.ADMIN_TOKEN).toBeUndefined();
  });

  test("every bad variable is listed once, with value and expected form", () => {
    const err = (() => {
      try {
        loadConfig({ PORT: "abc", LOG_LEVEL: "loud", BODY_LIMIT_BYTES: "1.5", SHUTDOWN_DRAIN_MS: "-1" });
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.problems).toHaveLength(4);
    expect(err.message).toContain('PORT="abc": expected integer 0..65535');
    expect(err.message).toContain('LOG_LEVEL="loud"');
    expect(err.message).toContain("BODY_LIMIT_BYTES");
    expect(err.message).toContain("SHUTDOWN_DRAIN_MS");
  });

  test.each(["65536", "1e3", "0x50", " 80"])("PORT=%p is rejected", (port) => {
    expect(() => loadConfig({ PORT: port })).toThrow(ConfigError);
  });

  test("secrets are redacted in errors and in the effective configuration", () => {
    const err = (() => {
      try {
        loadConfig({ ADMIN_TOKEN: "short" });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).toContain("ADMIN_TOKEN");
    expect(err?.message).not.toContain("short");
    const shown = describeConfig({ ADMIN_TOKEN: "a-very-secret-token-123" });
    expect(shown.find((v) => v.name === "ADMIN_TOKEN")).toEqual({
      name: "ADMIN_TOKEN",
      value: "[redacted]",
      source: "env",
    });
    expect(shown.find((v) => v.name === "PORT")).toEqual({ name: "PORT", value: "8080", source: "default" });
  });

  test("passwords inside URLs are redacted", () => {
    expect(redact("HOST", "redis://user:hunter2@cache:6379")).toBe("redis://user:redacted@cache:6379");
  });

  test("a bad FAULTS value is a startup error", () => {
    expect(() => loadConfig({ FAULTS: "dynamodb:error=7" })).toThrow(/FAULTS/);
    expect(loadConfig({ FAULTS: "dynamodb:error=0.5" }).FAULTS).toBe("dynamodb:error=0.5");
  });
});
