import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { GenguardError, toGenguardError } from '../errors/genguard-error.js';
import type { ApiKeyStore } from './api-key-store.js';
import type { Health } from './api-schemas.js';
import { DetectRoutes, type DetectRoutesOptions } from './detect-routes.js';
import { HttpMetrics } from './http-metrics.js';
import { openApiDocument } from './openapi-document.js';
import { apiErrorOf, errorBody, type ApiError, type Shape } from './vendor-shapes.js';

export interface ApiServerOptions extends Omit<DetectRoutesOptions, 'logger'> {
  keys: Pick<ApiKeyStore, 'verify'>;
  /** Takes one request from a key's window: 0 = allowed, otherwise ms until the next slot (RedisRateLimiter). */
  rateLimiter: { take(keyId: string, perMinute: number): Promise<number> };
  /** GENGUARD_API_RATE_LIMIT_PER_MINUTE, for keys without their own limit. */
  defaultRatePerMinute: number;
  /** GENGUARD_API_MAX_INFLIGHT. */
  maxInflight: number;
  /** Where the HTTP metrics register; `/metrics` serves this whole registry (worker metrics too, in `genguard start`). */
  registry: Registry;
  health: () => Promise<Health>;
  logger: Logger;
  port: number;
  host?: string;
  /** How long close() lets requests in flight finish (default 30 s). */
  drainMs?: number;
  version?: string;
}

/** Every route the server answers; compose healthchecks and the OpenAPI test key on this list. */
export const API_ROUTES = [
  { method: 'GET', path: '/health' },
  { method: 'GET', path: '/metrics' },
  { method: 'GET', path: '/openapi.json' },
  { method: 'POST', path: '/image' },
  { method: 'POST', path: '/api/detect' },
] as const;

interface Exchange {
  requestId: string;
  log: Logger;
  status: number;
}

/**
 * The self-hosted detection API on node:http (no framework: five routes, raw and JSON bodies with
 * hard size limits, and nothing a framework would add that we would not then have to configure
 * away). Auth, per-key rate limits and the in-flight cap run before the body is read; detection
 * goes through the `api` queue (DetectRoutes).
 */
export class ApiServer {
  readonly #o: ApiServerOptions;
  readonly #metrics: HttpMetrics;
  readonly #routes: DetectRoutes;
  readonly #document: string;
  #server: Server | undefined;
  #inflight = 0;
  #idle: Array<() => void> = [];

  constructor(options: ApiServerOptions) {
    this.#o = options;
    this.#metrics = new HttpMetrics(options.registry);
    this.#routes = new DetectRoutes(options);
    this.#document = JSON.stringify(openApiDocument(options.version ?? '0.1.0'));
  }

  async listen(): Promise<number> {
    const server = createServer((req, res) => void this.#handle(req, res));
    // Slow-loris guard: a client gets this long to send its headers and body.
    server.requestTimeout = 120_000;
    server.headersTimeout = 30_000;
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#o.port, this.#o.host ?? '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  /** Stops accepting, lets requests in flight finish (up to drainMs), then drops every connection. */
  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (this.#inflight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.#idle.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#o.drainMs ?? 30_000))),
      ]);
      clearTimeout(timer);
    }
    server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const requestId = randomUUID();
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const known = API_ROUTES.find((r) => r.path === path);
    const route = known?.path ?? 'other';
    const ex: Exchange = { requestId, log: this.#o.logger.child({ reqId: requestId }), status: 0 };
    res.setHeader('x-request-id', requestId);
    try {
      if (!known) {
        this.#fail(res, ex, shapeOf(path), { status: 404, code: 'not_found', message: `no route ${method} ${path}` });
      } else if (known.method !== method) {
        res.setHeader('allow', known.method);
        this.#fail(res, ex, shapeOf(path), { status: 405, code: 'bad_request', message: `${path} takes ${known.method}` });
      } else if (known.method === 'GET') {
        await this.#get(path, res, ex);
      } else {
        await this.#detect(req, res, ex, path === '/image' ? 'bitmind' : 'bijou');
      }
    } catch (thrown) {
      const error = toGenguardError(thrown);
      ex.log.error({ err: error, code: error.code }, 'request failed');
      if (!res.headersSent) this.#fail(res, ex, shapeOf(path), apiErrorOf(error));
      else res.destroy();
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.#metrics.observe(method, route, ex.status, seconds);
      const quiet = method === 'GET' && ex.status < 400;
      ex.log[quiet ? 'debug' : 'info'](
        { method, route, status: ex.status, ms: Math.round(seconds * 1000) },
        'request',
      );
    }
  }

  async #get(path: string, res: ServerResponse, ex: Exchange): Promise<void> {
    if (path === '/health') {
      const health = await this.#o.health().catch((): Health => ({ status: 'unavailable', redis: 'down' }));
      return this.#send(res, ex, health.status === 'ok' ? 200 : 503, health);
    }
    if (path === '/openapi.json') return this.#send(res, ex, 200, this.#document, 'application/json');
    ex.status = 200;
    res.writeHead(200, { 'content-type': this.#o.registry.contentType });
    res.end(await this.#o.registry.metrics());
  }

  async #detect(req: IncomingMessage, res: ServerResponse, ex: Exchange, shape: Shape): Promise<void> {
    const check = await this.#o.keys.verify(presentedKey(req)).catch((error: unknown) => {
      throw new GenguardError('queue_unavailable', `key lookup failed: ${(error as Error).message}`, { cause: error });
    });
    if (!check.ok) {
      const revoked = check.reason === 'revoked';
      return this.#fail(res, ex, shape, {
        status: revoked ? 403 : 401,
        code: revoked ? 'permission_denied' : 'auth_failed',
        message: revoked ? 'this API key was revoked' : 'invalid or missing API key (send X-Api-Key or Authorization: Bearer)',
      });
    }
    ex.log = ex.log.child({ keyId: check.key.id });
    const waitMs = await this.#o.rateLimiter.take(check.key.id, check.key.rateLimitPerMinute ?? this.#o.defaultRatePerMinute);
    if (waitMs > 0) {
      const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
      return this.#fail(res, ex, shape, { status: 429, code: 'rate_limited', message: 'rate limit exceeded for this API key', retryAfterSeconds });
    }
    if (this.#inflight >= this.#o.maxInflight) {
      return this.#fail(res, ex, shape, { status: 503, code: 'queue_unavailable', message: 'too many requests in flight; try again shortly', retryAfterSeconds: 1 });
    }
    this.#inflight++;
    this.#metrics.inflight.inc();
    const gone = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    try {
      const answer = await this.#routes.run(req, shape, { requestId: ex.requestId, log: ex.log, signal: gone.signal });
      if ('error' in answer) return this.#fail(res, ex, shape, answer.error);
      if (answer.cache) res.setHeader('x-genguard-cache', answer.cache);
      this.#send(res, ex, 200, answer.body);
    } finally {
      this.#inflight--;
      this.#metrics.inflight.dec();
      if (this.#inflight === 0) for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  #fail(res: ServerResponse, ex: Exchange, shape: Shape, error: ApiError): void {
    if (error.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(error.retryAfterSeconds));
    // A refused upload may still be streaming in: do not keep reading it on this connection.
    if (error.status === 413) res.setHeader('connection', 'close');
    if (error.status >= 500) ex.log.warn({ status: error.status, code: error.code }, 'request answered with an error');
    this.#send(res, ex, error.status, errorBody(shape, error, ex.requestId));
  }

  #send(res: ServerResponse, ex: Exchange, status: number, body: unknown, type = 'application/json'): void {
    ex.status = status;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}

/** `X-Api-Key`, else `Authorization: Bearer` (BitMind's legacy `enterprise-` prefix is tolerated). */
export function presentedKey(req: IncomingMessage): string | undefined {
  const header = req.headers['x-api-key'];
  const direct = Array.isArray(header) ? header[0] : header;
  if (direct) return direct.trim();
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m?.[1]?.replace(/^enterprise-/, '');
}

function shapeOf(path: string): Shape {
  return path.startsWith('/api/') ? 'bijou' : 'bitmind';
}
