/**
 * Measured per-task capacity, and the autoscaling targets and limits derived from it. The figures live in
 * capacity.json so that a benchmark can rewrite them; everything below is arithmetic on them.
 */
import figures from "./capacity.json" with { type: "json" };

export interface RequestCapacity {
  /** Throughput of one role process on one vCPU: since issue 16 the highest rate that holds the p99 target. */
  requestsPerSecondPerVcpu: number;
  /** p99 measured at that rate, and the target it was held to (bench:capacity). */
  p99Ms: number;
  p99TargetMs?: number;
  benchmark: string;
  measured: string;
}

export interface Capacity {
  source: string;
  roles: {
    api: RequestCapacity;
    bidder: RequestCapacity;
    broadcaster: { connectionsPerTask: number; measured: string };
  };
}

export const CAPACITY: Capacity = figures;

/**
 * Share of measured saturation a task is kept at. Target tracking reacts in about three minutes (one-minute
 * metric, 60 s scale-out cooldown, a minute for a new task to pass its health check); half of saturation
 * leaves room for the load to double in that time, and for a Fargate vCPU being slower than the
 * benchmark machine's.
 */
export const UTILIZATION = 0.5;

/** Bun runs JavaScript on one thread: a task gains nothing in request throughput beyond one vCPU. */
export function usableVcpus(cpuUnits: number): number {
  return Math.min(cpuUnits / 1024, 1);
}

/**
 * `ALBRequestCountPerTarget` is a count per minute per target, so the target is
 * req/s per vCPU × usable vCPUs × UTILIZATION × 60 s.
 */
export function requestsPerMinuteTarget(capacity: RequestCapacity, cpuUnits: number): number {
  return Math.floor(capacity.requestsPerSecondPerVcpu * usableVcpus(cpuUnits) * UTILIZATION * 60);
}

/** File descriptors other than client sockets: Redis, stdio, logs, the listening socket. */
const BASE_FILES = 1024;
/** Fargate's ceiling for `nofile`. */
export const FARGATE_MAX_NOFILE = 1_048_576;
/** Fargate's default soft and hard `nofile`; every role gets at least this, stated explicitly. */
export const DEFAULT_NOFILE = 65_535;

/** Open-file limit for a role: one descriptor per WebSocket with half again as margin, plus the base. */
export function nofileLimit(connectionsPerTask: number): number {
  const needed = Math.ceil(connectionsPerTask * 1.5) + BASE_FILES;
  return Math.min(FARGATE_MAX_NOFILE, Math.max(DEFAULT_NOFILE, needed));
}
