import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * HTTP request counts and latencies of the API, registered in the same registry as the worker
 * metrics so one `/metrics` scrape has both. `route` is the matched route or `other`, never the
 * raw path, so a scanner probing random URLs cannot blow up the label set.
 */
export class HttpMetrics {
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly seconds: Histogram<'method' | 'route'>;
  readonly inflight: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'genguard_http_requests_total',
      help: 'HTTP requests answered by the API, by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.seconds = new Histogram({
      name: 'genguard_http_request_duration_seconds',
      help: 'HTTP request latency of the API, receiving the body to the last byte sent',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.inflight = new Gauge({
      name: 'genguard_http_inflight_requests',
      help: 'Detection requests this API process is holding (GENGUARD_API_MAX_INFLIGHT caps it)',
      registers,
    });
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    this.requests.inc({ method, route, status: String(status) });
    this.seconds.observe({ method, route }, seconds);
  }
}
