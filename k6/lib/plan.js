/**
 * Timelines and open-loop capacity scenarios. k6 starts scenarios by `startTime` only, so scripts that run
 * scenarios one after another compute each start from the previous scenario's latest end (run time plus
 * graceful stop); the same arithmetic lets the tests check that no scenario is cut short.
 */
import { env, envDurationMs, envInt, parseDuration } from "./env.js";

/** Issue 16's p99 targets per endpoint, at 80 % of capacity on one core, over 60 s. */
export const SLO_P99_MS = { productGet: 5, bid: 20, checkout: 20, asyncAccept: 10 };

/** k6's default gracefulStop. */
const DEFAULT_GRACEFUL_STOP = "30s";
/** k6's default maxDuration of the iteration-based executors. */
const DEFAULT_MAX_DURATION = "10m";

export const ARRIVAL_RATE = ["constant-arrival-rate", "ramping-arrival-rate"];

/**
 * How long a scenario runs before its graceful stop begins, in milliseconds.
 * @param {import("k6/options").Scenario} sc
 */
export function runMs(sc) {
  switch (sc.executor) {
    case "constant-vus":
    case "constant-arrival-rate":
      return parseDuration(sc.duration);
    case "ramping-vus":
    case "ramping-arrival-rate":
      return sc.stages.reduce((sum, stage) => sum + parseDuration(stage.duration), 0);
    default:
      return parseDuration(sc.maxDuration ?? DEFAULT_MAX_DURATION);
  }
}

/**
 * The latest a scenario can end, from the start of the test: start, run, graceful ramp-down or stop.
 * @param {import("k6/options").Scenario} sc
 */
export function endMs(sc) {
  const ramp = sc.executor === "ramping-vus" ? parseDuration(sc.gracefulRampDown ?? "30s") : 0;
  return (
    parseDuration(sc.startTime ?? "0s") +
    runMs(sc) +
    Math.max(ramp, parseDuration(sc.gracefulStop ?? DEFAULT_GRACEFUL_STOP))
  );
}

/**
 * Gives each scenario, in insertion order, a start time at the previous one's latest end, so they run
 * one after another and a slow tail of one never overlaps the next one's measurement.
 * @param {Record<string, import("k6/options").Scenario>} scenarios
 */
export function chain(scenarios) {
  let at = 0;
  for (const sc of Object.values(scenarios)) {
    sc.startTime = `${at}ms`;
    at = endMs(sc);
  }
  return scenarios;
}

/** Which parts of a script run (`-e PARTS=seed,capacity`), checked against what the script offers. */
export function parts(/** @type {string[]} */ offered) {
  const wanted = env("PARTS", offered.join(",")).split(",");
  const unknown = wanted.filter((p) => !offered.includes(p));
  if (unknown.length > 0 || wanted.length === 0) {
    throw new Error(`PARTS must be a comma-separated subset of ${offered.join(",")}, got "${wanted}"`);
  }
  return wanted;
}

/**
 * The request rate one task sustains for `role`: CAPACITY_RPS, else terraform/capacity.json's
 * requests per second per vCPU for that role. Neither is an error, not a guess.
 * @param {string} role
 */
export function capacityRps(role) {
  const set = envInt("CAPACITY_RPS", 0);
  if (set > 0) return set;
  let figure;
  try {
    // Resolved from this module (k6 resolves a bare relative path from the main script); unavailable when the scripts are copied without terraform/.
    const file = JSON.parse(open(import.meta.resolve("../../terraform/capacity.json")));
    figure = file?.roles?.[role]?.requestsPerSecondPerVcpu;
  } catch (_) {
    figure = undefined;
  }
  if (typeof figure !== "number" || !(figure > 0)) {
    throw new Error(
      `CAPACITY_RPS is not set and terraform/capacity.json has no requestsPerSecondPerVcpu for role ${role}`,
    );
  }
  return figure;
}

/** Percentages of capacity the open-loop scenarios run at (`CAPACITY_LEVELS`, default 50,80). */
export function capacityLevels() {
  const raw = env("CAPACITY_LEVELS", "50,80");
  const levels = raw.split(",").map(Number);
  if (!levels.every((l) => Number.isInteger(l) && l > 0 && l <= 100)) {
    throw new Error(`CAPACITY_LEVELS must be percentages 1..100 separated by commas, got "${raw}"`);
  }
  return levels;
}

/**
 * Open-loop scenarios for one endpoint: `exec` started at `level` % of `capacity` per second for
 * CAPACITY_DURATION (default 60 s) at each level, named `${prefix}_${level}`. Arrivals do not wait for
 * answers, so latency is measured at the offered load (no coordinated omission). Enough VUs for each
 * arrival to wait 100 ms; beyond that k6 drops iterations, which a threshold turns into a failure.
 * @param {string} prefix @param {string} exec @param {number} capacity requests per second
 * @returns {Record<string, import("k6/options").ConstantArrivalRateScenario>}
 */
export function capacityScenarios(prefix, exec, capacity) {
  const durationMs = envDurationMs("CAPACITY_DURATION", "60s");
  /** @type {Record<string, import("k6/options").ConstantArrivalRateScenario>} */
  const out = {};
  for (const level of capacityLevels()) {
    const rate = Math.max(1, Math.round((capacity * level) / 100));
    out[`${prefix}_${level}`] = {
      executor: "constant-arrival-rate",
      exec,
      rate,
      timeUnit: "1s",
      duration: `${durationMs}ms`,
      preAllocatedVUs: Math.max(10, Math.ceil(rate / 100)),
      maxVUs: Math.max(100, Math.ceil(rate / 10)),
      gracefulStop: "5s",
    };
  }
  return out;
}

/**
 * The SLO of each open-loop scenario: p99 of a request's duration (optionally narrowed to the route
 * `name`) within `p99Ms`, and under 1 % of the planned arrivals dropped (a load generator that cannot keep
 * up measured a lower rate than planned).
 * @param {Record<string, import("k6/options").ConstantArrivalRateScenario>} scenarios
 * @param {number} p99Ms
 * @param {string} [name] route template of the request the SLO is about
 */
export function capacityThresholds(scenarios, p99Ms, name) {
  /** @type {Record<string, string[]>} */
  const out = {};
  for (const [key, sc] of Object.entries(scenarios)) {
    const planned = (sc.rate * parseDuration(sc.duration)) / 1000;
    out[`http_req_duration{scenario:${key}${name ? `,name:${name}` : ""}}`] = [`p(99)<=${p99Ms}`];
    out[`dropped_iterations{scenario:${key}}`] = [`count<=${Math.floor(planned * 0.01)}`];
  }
  return out;
}

/**
 * A threshold per scenario that fails the run when the scenario completed no iteration: the run-wide
 * thresholds (error rate, checks) cannot tell a scenario that did nothing while the others ran.
 * @param {Record<string, import("k6/options").Scenario>} scenarios
 */
export function everyScenarioRan(scenarios) {
  return Object.fromEntries(
    Object.keys(scenarios).map((key) => [`iterations{scenario:${key}}`, ["count>0"]]),
  );
}

/**
 * The key figures of the open-loop scenarios: p50/p99/p99.9 and the rate achieved over each scenario's
 * own run time (k6's `rate` divides by the whole test's duration).
 * @param {import("./summary.js").SummaryData} data
 * @param {Record<string, import("k6/options").ConstantArrivalRateScenario>} scenarios
 * @param {string} [name]
 * @returns {import("./summary.js").Figure[]}
 */
export function capacityFigures(data, scenarios, name) {
  return Object.entries(scenarios).flatMap(([key, sc]) => {
    const metric = `http_req_duration{scenario:${key}${name ? `,name:${name}` : ""}}`;
    const done = data.metrics[`iterations{scenario:${key}}`]?.values.count;
    /** @type {import("./summary.js").Figure[]} */
    const figures = ["med", "p(99)", "p(99.9)"].map((stat) => ({ metric, stat, better: "lower" }));
    figures.push({
      metric: `${key}: iterations/s over its ${parseDuration(sc.duration) / 1000} s (planned ${sc.rate})`,
      stat: "rate",
      better: "higher",
      value: done === undefined ? null : done / (parseDuration(sc.duration) / 1000),
    });
    return figures;
  });
}
