import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config.ts";
import { accessLogLevel, DEFAULT_ACCESS_LOG } from "../../src/observability/access-log.ts";

const policy = { slowMs: 100, sampleRate: 0.25 };
/** A random source that fails the test if the rule draws from it. */
const noDraw = () => {
  throw new Error("drew a random number where no sampling decision is made");
};

describe("access log decision", () => {
  test("every 5xx is an error line, slow or not, without a draw", () => {
    for (const status of [500, 502, 503, 504, 599]) {
      expect(accessLogLevel(status, 1, policy, noDraw)).toBe("error");
      expect(accessLogLevel(status, 10_000, policy, noDraw)).toBe("error");
    }
  });

  test("a request slower than slowMs is a warn line whatever its status below 500", () => {
    for (const status of [200, 204, 301, 400, 404, 409, 499])
      expect(accessLogLevel(status, 100.001, policy, noDraw)).toBe("warn");
    // "Slower than": exactly slowMs is not slow.
    expect(accessLogLevel(200, 100, policy, () => 0.99)).toBe("debug");
  });

  test("a fast 4xx is a debug line, without a draw", () => {
    for (const status of [400, 401, 404, 405, 413, 415, 429, 499])
      expect(accessLogLevel(status, 3, policy, noDraw)).toBe("debug");
  });

  test("a fast 1xx-3xx is info when the draw falls under the rate, else debug", () => {
    expect(accessLogLevel(200, 3, policy, () => 0)).toBe("info");
    expect(accessLogLevel(200, 3, policy, () => 0.2499)).toBe("info");
    expect(accessLogLevel(200, 3, policy, () => 0.25)).toBe("debug");
    expect(accessLogLevel(304, 3, policy, () => 0.9)).toBe("debug");
  });

  test("rate 0 never samples and rate 1 always does (Math.random is in [0, 1))", () => {
    const none = { slowMs: 100, sampleRate: 0 };
    const all = { slowMs: 100, sampleRate: 1 };
    expect(accessLogLevel(200, 1, none, () => 0)).toBe("debug");
    expect(accessLogLevel(200, 1, all, () => 0.999999)).toBe("info");
  });

  test("with Math.random the sampled share is close to the rate", () => {
    let info = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++)
      if (accessLogLevel(200, 1, { slowMs: 100, sampleRate: 0.01 }) === "info") info++;
    // Binomial(200000, 0.01): mean 2000, sd ~44; ±400 is 9 sd.
    expect(info).toBeGreaterThan(1600);
    expect(info).toBeLessThan(2400);
  });

  test("the defaults are the configuration's", () => {
    const config = loadConfig({});
    expect(DEFAULT_ACCESS_LOG).toEqual({ slowMs: config.LOG_SLOW_MS, sampleRate: config.LOG_SAMPLE_RATE });
    expect(DEFAULT_ACCESS_LOG).toEqual({ slowMs: 500, sampleRate: 0.01 });
  });
});

describe("LOG_SAMPLE_RATE and LOG_SLOW_MS", () => {
  test.each([
    ["0", 0],
    ["1", 1],
    ["0.01", 0.01],
    [".5", 0.5],
    ["1.0", 1],
  ])("LOG_SAMPLE_RATE=%p is %p", (raw, value) => {
    expect(loadConfig({ LOG_SAMPLE_RATE: raw }).LOG_SAMPLE_RATE).toBe(value);
  });

  test.each(["1.5", "-0.1", "abc", "1e-2", "2", "0.5.1"])("LOG_SAMPLE_RATE=%p is refused", (raw) => {
    expect(() => loadConfig({ LOG_SAMPLE_RATE: raw })).toThrow("LOG_SAMPLE_RATE");
  });

  test("LOG_SLOW_MS takes integer milliseconds only", () => {
    expect(loadConfig({ LOG_SLOW_MS: "0" }).LOG_SLOW_MS).toBe(0);
    expect(() => loadConfig({ LOG_SLOW_MS: "1.5" })).toThrow("LOG_SLOW_MS");
    expect(() => loadConfig({ LOG_SLOW_MS: "-1" })).toThrow("LOG_SLOW_MS");
  });
});
