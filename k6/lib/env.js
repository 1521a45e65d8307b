/**
 * Settings every scenario shares, read from k6's environment (`k6 run -e NAME=value` or the process
 * environment). Numbers are parsed strictly so a typo fails the run instead of silently using 0.
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

export const BASE_URL = env("BASE_URL", "http://127.0.0.1:8080").replace(/\/+$/, "");
export const WS_URL = env("WS_URL", BASE_URL.replace(/^http/, "ws")).replace(/\/+$/, "");
export const ADMIN_TOKEN = env("ADMIN_TOKEN", "");
/** A key from the target's API_KEYS, sent as X-API-Key on every other request (none: ADMIN_TOKEN, or nothing). */
export const API_KEY = env("API_KEY", "");
/** Where handleSummary writes its JSON and text files. */
export const RESULTS_DIR = env("K6_RESULTS_DIR", "k6/results").replace(/\/+$/, "");
/** A run-unique tag so repeated runs against one environment never collide on ids. */
export const RUN_ID = env("RUN_ID", String(Date.now()));
