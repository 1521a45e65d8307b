/**
 * Which requests get an access line, and at which level. One JSON line per request at tens of thousands
 * of requests a second is ~10 MB/s of log ingestion per task and a third of a product read's CPU, while
 * the load balancer's access logs keep the full record and the metrics count every request. So the line
 * is written for what someone will look for (failures and slow requests) and for a sample of the rest.
 */
import { vars } from "../config.ts";
import type { Level } from "./log.ts";

export interface AccessLogPolicy {
  /** A request slower than this is logged at warn whatever its status. */
  slowMs: number;
  /** Share of the remaining (fast, below 400) requests logged at info. */
  sampleRate: number;
}

/** The configuration's defaults, for an HTTP core built without a configuration (tests, tools). */
export const DEFAULT_ACCESS_LOG: AccessLogPolicy = {
  slowMs: vars.LOG_SLOW_MS.schema.parse(vars.LOG_SLOW_MS.default),
  sampleRate: vars.LOG_SAMPLE_RATE.schema.parse(vars.LOG_SAMPLE_RATE.default),
};

/**
 * The level of a request's access line: 5xx error, slow warn, 4xx debug (clients' mistakes are the
 * clients' to see; the metrics count them), and of the rest a `sampleRate` share at info and the others
 * at debug, so LOG_LEVEL=debug still writes every request. `random` is drawn only for a sampling decision.
 */
export function accessLogLevel(
  status: number,
  ms: number,
  policy: AccessLogPolicy,
  random: () => number = Math.random,
): Exclude<Level, "silent"> {
  if (status >= 500) return "error";
  if (ms > policy.slowMs) return "warn";
  if (status >= 400) return "debug";
  return random() < policy.sampleRate ? "info" : "debug";
}
