/**
 * handleSummary for every scenario: a JSON file (all metrics plus the scenario's key figures, which the
 * nightly workflow compares with the previous night) and a plain-text summary, both under RESULTS_DIR,
 * and the text on stdout. No remote jslib import, so the suite runs offline.
 */
import { BASE_URL, RESULTS_DIR, RUN_ID } from "./env.js";

/** Trend statistics kept in summaries; p(99) is what the seeds reported and the SLOs use. */
export const TREND_STATS = ["avg", "med", "p(95)", "p(99)", "p(99.9)", "max"];

/**
 * @typedef {{ type: string, contains?: string, values: Record<string, number>,
 *   thresholds?: Record<string, { ok: boolean }> }} SummaryMetric
 * @typedef {{ metrics: Record<string, SummaryMetric>, state?: { testRunDurationMs?: number } }} SummaryData
 * A number a scenario is judged by: a metric's statistic, or `value` computed in handleSummary.
 * @typedef {{ metric: string, stat: string, better: "higher" | "lower", seed?: number, value?: number | null }} Figure
 */

/**
 * @param {SummaryData} data
 * @param {Figure[]} figures
 */
function figureValues(data, figures) {
  return figures.map((f) => ({ ...f, value: f.value ?? data.metrics[f.metric]?.values[f.stat] ?? null }));
}

/** @param {number} value @param {string} [contains] */
function format(value, contains) {
  if (contains === "time") return `${value.toFixed(value < 10 ? 2 : 1)}ms`;
  if (contains === "data") return `${(value / 1024).toFixed(1)}kB`;
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

/**
 * @param {string} scenario
 * @param {SummaryData} data
 * @param {Figure[]} figures
 */
export function textSummary(scenario, data, figures) {
  const lines = [`k6 scenario ${scenario} (run ${RUN_ID})`, ""];
  for (const name of Object.keys(data.metrics).sort()) {
    const m = data.metrics[name];
    if (!m) continue;
    const values = Object.entries(m.values)
      .map(
        ([stat, v]) => `${stat}=${format(v, stat === "rate" || stat === "count" ? undefined : m.contains)}`,
      )
      .join(" ");
    lines.push(`  ${name.padEnd(56)} ${values}`);
    for (const [threshold, result] of Object.entries(m.thresholds ?? {})) {
      lines.push(`    ${result.ok ? "✓" : "✗ FAILED"} ${threshold}`);
    }
  }
  lines.push("", "  key figures:");
  for (const f of figureValues(data, figures)) {
    const seed = f.seed === undefined ? "" : `  (seed ${f.seed}, ${f.better} is better)`;
    lines.push(`    ${f.metric} ${f.stat} = ${f.value === null ? "n/a" : format(f.value)}${seed}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * @param {string} scenario file stem of the outputs, e.g. "bidding-lua"
 * @param {SummaryData} data
 * @param {Figure[]} figures the numbers this scenario is judged by
 */
export function summarize(scenario, data, figures) {
  const text = textSummary(scenario, data, figures);
  const json = {
    scenario,
    run_id: RUN_ID,
    target: BASE_URL,
    finished_at: new Date().toISOString(),
    duration_ms: data.state?.testRunDurationMs ?? null,
    figures: figureValues(data, figures),
    metrics: data.metrics,
  };
  const files = /** @type {const} */ ([`${RESULTS_DIR}/${scenario}.json`, `${RESULTS_DIR}/${scenario}.txt`]);
  return {
    // k6 only logs a file it cannot write, so the paths are printed for whoever looks for them.
    stdout: `${text}  written: ${files.join(", ")}\n`,
    [files[0]]: JSON.stringify(json, null, 2),
    [files[1]]: text,
  };
}
