import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { QueueMetrics } from './queue-metrics.js';

export interface MetricsServerOptions {
  metrics: QueueMetrics;
  /** Readiness for `/healthz`: true while the workers run and Redis answers. */
  health: () => Promise<boolean>;
  port: number;
  host?: string;
}

/** `GET /metrics` (Prometheus text format) and `GET /healthz` (200 / 503; also `/health`, as compose healthchecks use) for one worker process. */
export class MetricsServer {
  readonly #o: MetricsServerOptions;
  #server: Server | undefined;

  constructor(options: MetricsServerOptions) {
    this.#o = options;
  }

  /** Starts listening; resolves with the bound port (useful with port 0). */
  async listen(): Promise<number> {
    const server = createServer((req, res) => {
      void this.#handle(req.method ?? 'GET', (req.url ?? '/').split('?')[0] ?? '/')
        .then(({ status, type, body }) => {
          res.writeHead(status, { 'content-type': type });
          res.end(body);
        })
        .catch((error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(error instanceof Error ? error.message : String(error));
        });
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#o.port, this.#o.host ?? '0.0.0.0', () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async #handle(method: string, path: string): Promise<{ status: number; type: string; body: string }> {
    if (method !== 'GET') return { status: 405, type: 'text/plain', body: 'method not allowed' };
    if (path === '/metrics') {
      return { status: 200, type: this.#o.metrics.registry.contentType, body: await this.#o.metrics.text() };
    }
    if (path === '/healthz' || path === '/health') {
      const ok = await this.#o.health().catch(() => false);
      return { status: ok ? 200 : 503, type: 'text/plain', body: ok ? 'ok' : 'unavailable' };
    }
    return { status: 404, type: 'text/plain', body: 'not found' };
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
