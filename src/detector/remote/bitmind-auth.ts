import { z } from 'zod';
import type { Dispatcher } from 'undici';
import { GenguardError } from '../../errors/genguard-error.js';
import { exchange, parseJson, retryAfterHeader } from './http-exchange.js';
import type { Clock, RemoteLogger } from './remote-deps.js';
import type { Redactor } from './redactor.js';

/** The three ways to authenticate with BitMind (../shared/specs/bitmind-image.md). */
export type BitmindCredentials =
  /** OAuth 2.0 client credentials: a 1 h bearer token, cached and refreshed. */
  | { method: 'oauth'; clientId: string; clientSecret: string }
  /** OAuth + mTLS: the certificate (PEM) replaces the secret and travels as `X-Client-Cert` on every call. */
  | { method: 'mtls'; clientId: string; certificatePem: string }
  /** Legacy organisation key: `Bearer enterprise-<key>`, no refresh. */
  | { method: 'api_key'; apiKey: string };

export interface AuthHeaders {
  headers: Record<string, string>;
  /** The token these headers carry (to invalidate exactly it on a 401). */
  token: string;
}

const tokenSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.coerce.number().positive().optional(),
});

interface CachedToken {
  value: string;
  refreshAt: number;
}

export interface BitmindAuthOptions {
  credentials: BitmindCredentials;
  baseUrl: URL;
  dispatcher: Dispatcher | undefined;
  clock: Clock;
  redactor: Redactor;
  logger: RemoteLogger;
  /** Timeout of one token request. */
  timeoutMs: number;
  /** Refresh this long before expiry (capped at 10% of the lifetime). Default 60 s. */
  refreshMarginMs?: number;
}

/**
 * Produces BitMind auth headers. OAuth tokens are cached and refreshed shortly before expiry; one
 * refresh is in flight at a time and every concurrent caller awaits it. The shared refresh is not
 * tied to any caller's signal, so one cancelled caller cannot fail the others.
 */
export class BitmindAuth {
  private readonly options: BitmindAuthOptions;
  private readonly certHeader: string | undefined;
  private cached: CachedToken | undefined;
  private pending: Promise<CachedToken> | undefined;
  /** Token requests sent, for logs and tests. */
  tokenRequests = 0;

  constructor(options: BitmindAuthOptions) {
    this.options = options;
    const c = options.credentials;
    if (c.method === 'mtls') {
      this.certHeader = Buffer.from(c.certificatePem, 'utf8').toString('base64');
      options.redactor.add(this.certHeader);
      options.redactor.add(c.certificatePem.trim());
    }
    if (c.method === 'oauth') options.redactor.add(c.clientSecret);
    if (c.method === 'api_key') options.redactor.add(c.apiKey);
  }

  get method(): BitmindCredentials['method'] {
    return this.options.credentials.method;
  }

  /** Whether a 401 is worth one token re-fetch. */
  get canRefresh(): boolean {
    return this.options.credentials.method !== 'api_key';
  }

  async headers(): Promise<AuthHeaders> {
    const c = this.options.credentials;
    if (c.method === 'api_key') {
      const key = c.apiKey.startsWith('enterprise-') ? c.apiKey : `enterprise-${c.apiKey}`;
      return { headers: { authorization: `Bearer ${key}` }, token: key };
    }
    const token = await this.token();
    const headers: Record<string, string> = { authorization: `Bearer ${token.value}` };
    if (this.certHeader !== undefined) headers['x-client-cert'] = this.certHeader;
    return { headers, token: token.value };
  }

  /** Drops `token` after a 401, unless a newer one already replaced it (concurrent 401s refresh once). */
  invalidate(token: string): void {
    if (this.cached?.value === token) {
      this.cached = undefined;
      this.options.redactor.remove(token);
    }
  }

  private token(): Promise<CachedToken> {
    const now = this.options.clock.now();
    if (this.cached !== undefined && now < this.cached.refreshAt) return Promise.resolve(this.cached);
    this.pending ??= this.fetchToken().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetchToken(): Promise<CachedToken> {
    const { credentials: c, clock, redactor } = this.options;
    if (c.method === 'api_key') throw new Error('unreachable: api keys have no token');
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: c.clientId });
    if (c.method === 'oauth') form.set('client_secret', c.clientSecret);
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (this.certHeader !== undefined) headers['x-client-cert'] = this.certHeader;
    this.tokenRequests += 1;
    const requestedAt = clock.now();
    const res = await exchange(this.options.dispatcher, {
      url: new URL('v1/oauth/token', this.options.baseUrl),
      method: 'POST',
      headers,
      body: form.toString(),
      timeoutMs: this.options.timeoutMs,
      label: 'bitmind',
    });
    if (res.status !== 200) throw this.tokenError(res.status, res.body, retryAfterHeader(res.headers, clock.now()));
    const parsed = tokenSchema.safeParse(parseJson(res.body, 'bitmind'));
    if (!parsed.success) {
      throw new GenguardError('invalid_response', 'bitmind: token response lacks access_token/expires_in');
    }
    const lifetimeMs = (parsed.data.expires_in ?? 3600) * 1000;
    const margin = Math.min(this.options.refreshMarginMs ?? 60_000, lifetimeMs * 0.1);
    const token = { value: parsed.data.access_token, refreshAt: requestedAt + lifetimeMs - margin };
    if (this.cached !== undefined) redactor.remove(this.cached.value);
    redactor.add(token.value);
    this.cached = token;
    this.options.logger.debug(
      { backend: 'bitmind', auth: c.method, expires_in_s: lifetimeMs / 1000 },
      'bitmind access token fetched',
    );
    return token;
  }

  private tokenError(status: number, body: Buffer, retryAfter: number | undefined): GenguardError {
    const what = this.options.redactor.excerpt(body);
    const details = { status, endpoint: 'token' };
    const hint =
      this.method === 'mtls'
        ? 'check BITMIND_CLIENT_ID and BITMIND_CLIENT_CERT_FILE'
        : 'check BITMIND_CLIENT_ID and BITMIND_CLIENT_SECRET';
    if (status === 400 || status === 401) {
      return new GenguardError('auth_failed', `bitmind: token request rejected (${status}): ${what}; ${hint}`, { details });
    }
    if (status === 403) {
      return new GenguardError('permission_denied', `bitmind: token request forbidden (403): ${what}; ${hint}`, {
        details,
      });
    }
    const retryable = status === 429 || status >= 500;
    return new GenguardError(
      status === 429 ? 'rate_limited' : 'remote_unavailable',
      `bitmind: token request failed (${status}): ${what}`,
      { retryable, details, ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }) },
    );
  }
}
