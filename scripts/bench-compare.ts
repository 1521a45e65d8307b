#!/usr/bin/env bun
/**
 * Compares the key figures of two k6 suite runs (the JSON files k6/lib/summary.js writes) and prints a
 * Markdown report for the job summary: every figure beside its seed and the previous run's value, changes
 * for the worse over 10% flagged, and every threshold that failed.
 *
 *   bun scripts/bench-compare.ts PREVIOUS_DIR CURRENT_DIR
 *
 * A missing PREVIOUS_DIR (first night) still prints the current figures. Always exits 0 when the inputs
 * are readable: the suite's own exit code already fails the run on broken thresholds.
 */
import { existsSync, readdirSync } from "node:fs";

export interface Figure {
  metric: string;
  stat: string;
  better: "higher" | "lower";
  seed?: number | null;
  value: number | null;
}

export interface ScenarioResult {
  scenario: string;
  target?: string;
  figures: Figure[];
  metrics?: Record<string, { thresholds?: Record<string, { ok: boolean }> }>;
}

export interface Comparison {
  figure: Figure;
  previous: number | null;
  /** Relative change, positive = bigger; null when there is nothing to compare with. */
  change: number | null;
  regression: boolean;
  improvement: boolean;
}

export const REGRESSION_THRESHOLD = 0.1;
/** Latency differences under a millisecond are noise whatever their ratio. */
const MIN_TIME_DELTA_MS = 1;

const isTime = (f: Figure) => /duration|_ms\b|_ms$/.test(f.metric) && f.stat !== "count" && f.stat !== "rate";

export function compareFigure(figure: Figure, previous: number | null | undefined): Comparison {
  const prev = previous ?? null;
  if (prev === null || figure.value === null || prev === 0) {
    return { figure, previous: prev, change: null, regression: false, improvement: false };
  }
  const change = (figure.value - prev) / Math.abs(prev);
  const significant =
    Math.abs(change) > REGRESSION_THRESHOLD &&
    (!isTime(figure) || Math.abs(figure.value - prev) >= MIN_TIME_DELTA_MS);
  const worse = figure.better === "lower" ? change > 0 : change < 0;
  return {
    figure,
    previous: prev,
    change,
    regression: significant && worse,
    improvement: significant && !worse,
  };
}

const key = (f: Pick<Figure, "metric" | "stat">) => `${f.metric}|${f.stat}`;

export function compareScenario(current: ScenarioResult, previous: ScenarioResult | undefined): Comparison[] {
  const before = new Map((previous?.figures ?? []).map((f) => [key(f), f.value]));
  return current.figures.map((f) => compareFigure(f, before.get(key(f))));
}

export function failedThresholds(result: ScenarioResult): string[] {
  return Object.entries(result.metrics ?? {}).flatMap(([metric, m]) =>
    Object.entries(m.thresholds ?? {})
      .filter(([, t]) => !t.ok)
      .map(([threshold]) => `${metric}: ${threshold}`),
  );
}

function num(v: number | null | undefined): string {
  if (v === null || v === undefined) return "–";
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString("en-US");
  return Number(v.toFixed(Math.abs(v) >= 1 ? 2 : 4)).toString();
}

export function renderReport(current: ScenarioResult[], previous: ScenarioResult[] | undefined): string {
  const prevByName = new Map((previous ?? []).map((r) => [r.scenario, r]));
  const lines: string[] = [];
  const regressions: string[] = [];
  const failures: string[] = [];
  const sections: string[] = [];
  for (const result of [...current].sort((a, b) => a.scenario.localeCompare(b.scenario))) {
    const prev = prevByName.get(result.scenario);
    const comparable = prev !== undefined && prev.target === result.target;
    const rows = compareScenario(result, comparable ? prev : undefined);
    for (const r of rows.filter((r) => r.regression)) {
      regressions.push(
        `${result.scenario}: ${r.figure.metric} ${r.figure.stat} ${num(r.previous)} → ${num(r.figure.value)}`,
      );
    }
    failures.push(...failedThresholds(result).map((t) => `${result.scenario}: ${t}`));
    sections.push(`#### ${result.scenario}${result.target ? ` (${result.target})` : ""}`, "");
    if (prev && !comparable) sections.push(`_previous run targeted ${prev.target}: not compared_`, "");
    sections.push("| figure | seed | previous | now | change |", "| --- | ---: | ---: | ---: | --- |");
    for (const r of rows) {
      const change =
        r.change === null
          ? "–"
          : `${r.change > 0 ? "+" : ""}${(r.change * 100).toFixed(1)}%${r.regression ? " 🔴 worse" : r.improvement ? " 🟢 better" : ""}`;
      sections.push(
        `| ${r.figure.metric} ${r.figure.stat} (${r.figure.better} is better) | ${num(r.figure.seed)} | ${num(r.previous)} | ${num(r.figure.value)} | ${change} |`,
      );
    }
    sections.push("");
  }
  lines.push("### k6 suite", "");
  if (!previous) lines.push("No previous run to compare with.", "");
  lines.push(
    regressions.length === 0
      ? `No figure got worse by more than ${REGRESSION_THRESHOLD * 100}%.`
      : `**${regressions.length} figure${regressions.length > 1 ? "s" : ""} worse by more than ${REGRESSION_THRESHOLD * 100}%:**`,
    ...regressions.map((r) => `- 🔴 ${r}`),
    "",
  );
  if (failures.length > 0) lines.push("**Failed thresholds:**", ...failures.map((f) => `- ❌ ${f}`), "");
  return `${[...lines, ...sections].join("\n")}\n`;
}

export async function readResults(dir: string): Promise<ScenarioResult[] | undefined> {
  if (!existsSync(dir)) return undefined;
  const results: ScenarioResult[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
    const parsed = (await Bun.file(`${dir}/${file}`).json()) as Partial<ScenarioResult>;
    if (typeof parsed.scenario === "string" && Array.isArray(parsed.figures))
      results.push(parsed as ScenarioResult);
  }
  return results;
}

if (import.meta.main) {
  const [previousDir, currentDir] = process.argv.slice(2);
  if (!previousDir || !currentDir) {
    console.error("usage: bun scripts/bench-compare.ts PREVIOUS_DIR CURRENT_DIR");
    process.exit(2);
  }
  const current = (await readResults(currentDir)) ?? [];
  process.stdout.write(renderReport(current, await readResults(previousDir)));
}
