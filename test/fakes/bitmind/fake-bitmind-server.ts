/**
 * A local stand-in for BitMind's enterprise API (../shared/specs/bitmind-image.md): the OAuth token
 * endpoint (client credentials; mTLS clients send X-Client-Cert instead of a secret), `POST /image`,
 * `GET /health`, `GET /status`, and the legacy `Bearer enterprise-<key>`. Scores are a hash of the
 * image bytes (fakeScore) — it checks the contract, it does not detect anything.
 * `/batch_image` is not implemented (the spec does not say how images are sent; genguard does not use it).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { applyFault, FaultInjector, fakeScore, readBody, sendJson, sha256, sniffImage, startServer, type StartedServer } from './fake-http.js';

export interface FakeBitmindClient {
  clientId: string;
  /** OAuth client secret (clients without mTLS). */
  clientSecret?: string;
  /** PEM certificate; when set the client is `requires_mtls=true`. */
  certificatePem?: string;
}

export interface FakeBitmindOptions {
  clients?: FakeBitmindClient[];
  /** Organisation keys accepted as `Bearer enterprise-<key>`. */
  apiKeys?: string[];
  /** Lifetime of issued tokens (the real service: 3600 s). */
  tokenTtlSeconds?: number;
  /** Largest accepted image (the real service: 100 MB). */
  maxImageBytes?: number;
  /** The fake's clock, shared with a client under test to expire tokens without waiting. */
  now?: () => number;
  /** The vendor `processingTime` reported, in seconds. */
  processingTime?: number;
  /** Delay before answering a token request, in ms (to let concurrent callers pile up). */
  tokenDelayMs?: number;
}

interface Payload {
  sub: string;
  exp: number;
  gen: number;
}

export class FakeBitmindServer {
  readonly faults = new FaultInjector();
  /** Requests per endpoint. */
  readonly counts = { token: 0, image: 0, status: 0, health: 0 };
  /** Headers of every request, for assertions (auth and cert presence). */
  readonly requests: Array<{ method: string; path: string; headers: http.IncomingHttpHeaders; bytes: number }> = [];
  /** Scores to return for given sha256 digests instead of the hash-derived one. */
  readonly scores = new Map<string, number>();
  private readonly clients = new Map<string, FakeBitmindClient>();
  private readonly apiKeys: Set<string>;
  private readonly revokedClients = new Set<string>();
  private readonly signingKey = randomBytes(32);
  private generation = 0;
  private server!: StartedServer;
  tokenTtlSeconds: number;
  readonly maxImageBytes: number;
  private readonly now: () => number;
  private readonly processingTime: number;
  private readonly tokenDelayMs: number;

  private constructor(options: FakeBitmindOptions) {
    for (const c of options.clients ?? []) this.clients.set(c.clientId, c);
    this.apiKeys = new Set(options.apiKeys ?? []);
    this.tokenTtlSeconds = options.tokenTtlSeconds ?? 3600;
    this.maxImageBytes = options.maxImageBytes ?? 100 * 1024 * 1024;
    this.now = options.now ?? Date.now;
    this.processingTime = options.processingTime ?? 0.045;
    this.tokenDelayMs = options.tokenDelayMs ?? 0;
  }

  static async start(options: FakeBitmindOptions = {}, port = 0): Promise<FakeBitmindServer> {
    const fake = new FakeBitmindServer(options);
    fake.server = await startServer((req, res) => fake.handle(req, res), port);
    return fake;
  }

  get url(): string {
    return this.server.url;
  }

  /** Every token issued so far stops working (as if they all expired at once). */
  expireTokens(): void {
    this.generation += 1;
  }

  revokeApiKey(key: string): void {
    this.apiKeys.delete(key);
  }

  revokeClient(clientId: string): void {
    this.revokedClients.add(clientId);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const method = req.method ?? 'GET';
    if (method === 'POST' && path === '/v1/oauth/token') return this.token(req, res);
    if (method === 'POST' && path === '/image') return this.image(req, res);
    if (method === 'GET' && path === '/health') {
      this.counts.health += 1;
      return sendJson(res, 200, { status: 'ok' });
    }
    if (method === 'GET' && path === '/status') {
      this.counts.status += 1;
      this.log(req, path, 0);
      const denied = this.authenticate(req);
      if (denied) return sendJson(res, denied.status, { error: denied.error });
      return sendJson(res, 200, { status: 'operational' });
    }
    await readBody(req, 0);
    sendJson(res, 404, { error: `no route ${method} ${path}` });
  }

  private log(req: http.IncomingMessage, path: string, bytes: number): void {
    this.requests.push({ method: req.method ?? '', path, headers: req.headers, bytes });
  }

  private async token(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.counts.token += 1;
    const { body } = await readBody(req, 64 * 1024);
    this.log(req, '/v1/oauth/token', body.length);
    if (this.tokenDelayMs > 0) await new Promise((r) => setTimeout(r, this.tokenDelayMs));
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return sendJson(res, 400, { error: 'invalid_request', error_description: 'form-encoded body required' });
    }
    const form = new URLSearchParams(body.toString('utf8'));
    if (form.get('grant_type') !== 'client_credentials') return sendJson(res, 400, { error: 'unsupported_grant_type' });
    const client = this.clients.get(form.get('client_id') ?? '');
    if (client === undefined || this.revokedClients.has(client.clientId)) {
      return sendJson(res, 401, { error: 'invalid_client' });
    }
    if (client.certificatePem !== undefined) {
      if (!this.certMatches(req, client)) {
        return sendJson(res, 401, { error: 'invalid_client', error_description: 'client certificate required' });
      }
    } else if (!safeEqual(form.get('client_secret') ?? '', client.clientSecret ?? '')) {
      return sendJson(res, 401, { error: 'invalid_client' });
    }
    const exp = Math.floor(this.now() / 1000) + this.tokenTtlSeconds;
    sendJson(res, 200, {
      access_token: this.sign({ sub: client.clientId, exp, gen: this.generation }),
      token_type: 'Bearer',
      expires_in: this.tokenTtlSeconds,
    });
  }

  private async image(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.counts.image += 1;
    const { body, tooLarge } = await readBody(req, this.maxImageBytes);
    this.log(req, '/image', body.length);
    const fault = this.faults.take();
    if (fault !== undefined) return applyFault(res, fault);
    const denied = this.authenticate(req);
    if (denied) return sendJson(res, denied.status, { error: denied.error });
    if (tooLarge) return sendJson(res, 413, { error: `image too large (max ${this.maxImageBytes} bytes)` });
    if (body.length === 0) return sendJson(res, 400, { error: 'empty body: send the image bytes' });
    if (sniffImage(body) === undefined) return sendJson(res, 400, { error: 'invalid input: not an image' });
    const confidence = this.scores.get(sha256(body)) ?? fakeScore(body, 'bitmind');
    sendJson(res, 200, { isAI: confidence >= 0.5, confidence, processingTime: this.processingTime });
  }

  /** 401 for missing/invalid/expired credentials, 403 for an mTLS client without its certificate. */
  private authenticate(req: http.IncomingMessage): { status: number; error: string } | undefined {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(header);
    if (!m?.[1]) return { status: 401, error: 'missing authentication' };
    const credential = m[1];
    if (credential.startsWith('enterprise-')) {
      return this.apiKeys.has(credential.slice('enterprise-'.length)) ? undefined : { status: 401, error: 'invalid API key' };
    }
    const payload = this.verify(credential);
    if (payload === undefined) return { status: 401, error: 'invalid token' };
    if (payload.exp * 1000 <= this.now() || payload.gen !== this.generation) return { status: 401, error: 'token expired' };
    const client = this.clients.get(payload.sub);
    if (client === undefined || this.revokedClients.has(payload.sub)) return { status: 401, error: 'client revoked' };
    if (client.certificatePem !== undefined && !this.certMatches(req, client)) {
      return { status: 403, error: 'mTLS certificate missing or not the registered one' };
    }
    return undefined;
  }

  private certMatches(req: http.IncomingMessage, client: FakeBitmindClient): boolean {
    const sent = req.headers['x-client-cert'];
    if (typeof sent !== 'string' || client.certificatePem === undefined) return false;
    return safeEqual(sent, Buffer.from(client.certificatePem, 'utf8').toString('base64'));
  }

  /** A real HS256 JWT, so clients see the shape the vendor documents. */
  private sign(payload: Payload): string {
    const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ ...payload, jti: randomBytes(8).toString('hex') })).toString('base64url');
    const sig = createHmac('sha256', this.signingKey).update(`${head}.${body}`).digest('base64url');
    return `${head}.${body}.${sig}`;
  }

  private verify(token: string): Payload | undefined {
    const [head, body, sig] = token.split('.');
    if (!head || !body || !sig) return undefined;
    const expected = createHmac('sha256', this.signingKey).update(`${head}.${body}`).digest('base64url');
    if (!safeEqual(sig, expected)) return undefined;
    try {
      return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Payload;
    } catch {
      return undefined;
    }
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
