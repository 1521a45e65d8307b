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
 * http_requests_total and http_request_duration_seconds, kept in plain arrays per label set and
 * rendered through prom-client's registry on scrape. prom-client's own observe hashes the label
 * object on every call, which cost more than routing a product read.
 */
export class RequestMetrics {
  /** route → method → series: two lookups on strings we already hold, no key built per request. */
  private readonly byRoute = new Map<string, Map<string, Series>>();

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
      reset: () => this.byRoute.clear(),
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
      reset: () => this.byRoute.clear(),
    } as unknown as Metric);
  }

  private series(): Series[] {
    return [...this.byRoute.values()].flatMap((methods) => [...methods.values()]);
  }

  record(method: string, route: string, status: number, seconds: number): void {
    let methods = this.byRoute.get(route);
    if (!methods) {
      methods = new Map();
      this.byRoute.set(route, methods);
    }
    let s = methods.get(method);
    if (!s) {
      s = {
        labels: { method, route },
        count: 0,
        sum: 0,
        buckets: new Float64Array(BUCKETS.length),
        statuses: new Map(),
      };
      methods.set(method, s);
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
