/**
 * Settings every scenario shares, read from k6's environment (`k6 run -e NAME=value` or the process
 * environment). Numbers and durations are parsed strictly so a typo fails the run instead of silently
 * using 0.
 */

/** @param {string} name @param {string} fallback */
export function env(name, fallback) {
  const value = __ENV[name];
  return value === undefined || value === "" ? fallback : value;
}

/** @param {string} name @param {number} fallback */
export function envInt(name, fallback) {
  const raw = env(name, String(fallback));
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return Number(raw);
}

const UNIT_MS = /** @type {Record<string, number>} */ ({ h: 3_600_000, m: 60_000, s: 1000, ms: 1 });

/**
 * A k6 duration ("90s", "1m30s", "2h", "500ms") in milliseconds; a bare number is seconds, as in k6.
 * @param {string} text
 */
export function parseDuration(text) {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  if (!/^(\d+(\.\d+)?(h|ms|m|s))+$/.test(text)) throw new Error(`not a k6 duration: "${text}"`);
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)) {
    ms += Number(n) * (UNIT_MS[unit ?? "s"] ?? 0);
  }
  return ms;
}

/**
 * A duration setting in milliseconds, rejected unless positive.
 * @param {string} name @param {string} fallback
 */
export function envDurationMs(name, fallback) {
  const raw = env(name, fallback);
  const ms = (() => {
    try {
      return parseDuration(raw);
    } catch (_) {
      return Number.NaN;
    }
  })();
  if (!(ms > 0)) throw new Error(`${name} must be a positive k6 duration such as 90s or 1m30s, got "${raw}"`);
  return ms;
}

export const BASE_URL = env("BASE_URL", "http://127.0.0.1:8080").replace(/\/+$/, "");
export const WS_URL = env("WS_URL", BASE_URL.replace(/^http/, "ws")).replace(/\/+$/, "");
export const ADMIN_TOKEN = env("ADMIN_TOKEN", "");
/** A key from the target's API_KEYS, sent as X-API-Key on every other request (none: ADMIN_TOKEN, or nothing). */
export const API_KEY = env("API_KEY", "");
/**
 * Where handleSummary writes its JSON and text files. k6 cannot create directories, so the default is
 * the current directory, which always exists; run-suite.sh creates and passes k6/results.
 */
export const RESULTS_DIR = env("K6_RESULTS_DIR", ".").replace(/\/+$/, "") || ".";
/** A run-unique tag so repeated runs against one environment never collide on ids. */
export const RUN_ID = env("RUN_ID", String(Date.now()));
