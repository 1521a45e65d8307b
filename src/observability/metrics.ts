import { collectDefaultMetrics, Gauge, type Metric, Registry } from "prom-client";

/**
 * One registry per process (and per in-process test instance). Feature modules create their own
 * prom-client instruments on `registry`; the per-request HTTP instruments are `RequestMetrics`.
 */
export interface Metrics {
  registry: Registry;
  http: RequestMetrics;
  /** Counted by the HTTP layer and read on scrape: a gauge updated per request costs a label hash each time. */
  setInFlightSource(read: () => number): void;
}

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Series {
  labels: Record<string, string | number>;
  count: number;
  sum: number;
  buckets: Float64Array;
  statuses: Map<number, number>;
}

/**
 * One route template's series, one per method. The HTTP layer takes this handle once, when the route
 * is registered, so a request records without looking its route up; the method is nearly always the
 * same as the last request's, so that is tried first.
 */
export class RouteMetrics {
  readonly byMethod = new Map<string, Series>();
  private last: Series | undefined;
  constructor(readonly route: string) {}

  clear(): void {
    this.byMethod.clear();
    this.last = undefined;
  }

  record(method: string, status: number, seconds: number): void {
    let s = this.last;
    if (s === undefined || s.labels.method !== method) {
      s = this.byMethod.get(method);
      if (!s) {
        s = {
          labels: { method, route: this.route },
          count: 0,
          sum: 0,
          buckets: new Float64Array(BUCKETS.length),
          statuses: new Map(),
        };
        this.byMethod.set(method, s);
      }
      this.last = s;
    }
    s.statuses.set(status, (s.statuses.get(status) ?? 0) + 1);
    s.count++;
    s.sum += seconds;
    for (let i = 0; i < BUCKETS.length; i++) {
      if (seconds <= (BUCKETS[i] as number)) {
        s.buckets[i] = (s.buckets[i] ?? 0) + 1;
        break;
      }
    }
  }
}

/**
 * http_requests_total and http_request_duration_seconds, kept in plain arrays per label set and
 * rendered through prom-client's registry on scrape. prom-client's own observe hashes the label
 * object on every call, which cost more than routing a product read.
 */
export class RequestMetrics {
  private readonly byRoute = new Map<string, RouteMetrics>();

  constructor(registry: Registry) {
    // prom-client renders anything with this shape; the cast is the registry's own Metric union.
    registry.registerMetric({
      name: "http_requests_total",
      get: async () => ({
        name: "http_requests_total",
        help: "HTTP requests by method, route template and status",
        type: "counter",
        aggregator: "sum",
        values: this.series().flatMap((s) =>
          [...s.statuses].map(([status, value]) => ({ labels: { ...s.labels, status }, value })),
        ),
      }),
      reset: () => this.reset(),
    } as unknown as Metric);
    registry.registerMetric({
      name: "http_request_duration_seconds",
      get: async () => ({
        name: "http_request_duration_seconds",
        help: "HTTP request latency by method and route template",
        type: "histogram",
        aggregator: "sum",
        values: this.series().flatMap((s) => {
          let cumulative = 0;
          const out = BUCKETS.map((le, i) => {
            cumulative += s.buckets[i] ?? 0;
            return {
              labels: { ...s.labels, le },
              value: cumulative,
              metricName: "http_request_duration_seconds_bucket",
            };
          });
          out.push({
            labels: { ...s.labels, le: "+Inf" as unknown as number },
            value: s.count,
            metricName: "http_request_duration_seconds_bucket",
          });
          return [
            ...out,
            { labels: s.labels, value: s.sum, metricName: "http_request_duration_seconds_sum" },
            { labels: s.labels, value: s.count, metricName: "http_request_duration_seconds_count" },
          ];
        }),
      }),
      reset: () => this.reset(),
    } as unknown as Metric);
  }

  private series(): Series[] {
    return [...this.byRoute.values()].flatMap((r) => [...r.byMethod.values()]);
  }

  /** Forgets every count; handles already taken stay valid and count from zero. */
  private reset(): void {
    for (const r of this.byRoute.values()) r.clear();
  }

  /** The handle of a route template's series, the same one every time. */
  route(route: string): RouteMetrics {
    let r = this.byRoute.get(route);
    if (!r) {
      r = new RouteMetrics(route);
      this.byRoute.set(route, r);
    }
    return r;
  }
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    http: new RequestMetrics(registry),
    setInFlightSource: (read) => {
      new Gauge({
        name: "http_requests_in_flight",
        help: "HTTP requests being served",
        registers: [registry],
        collect() {
          this.set(read());
        },
      });
    },
  };
}
