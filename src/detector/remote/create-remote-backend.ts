import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { Dispatcher } from 'undici';
import type { Config } from '../../config/load-config.js';
import { GenguardError } from '../../errors/genguard-error.js';
import type { DetectionBackend } from '../backend.js';
import type { BitmindCredentials } from './bitmind-auth.js';
import { BitmindBackend } from './bitmind-backend.js';
import { BijouBackend, keyFingerprint } from './bijou-backend.js';
import type { RateLimiter } from './rate-limiter.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';
import type { RemoteConfig, RemoteId } from './remote-config.js';
import type { Clock, RemoteLogger } from './remote-deps.js';

export interface RemoteBackendDeps {
  dispatcher?: Dispatcher;
  clock?: Partial<Clock>;
  logger?: RemoteLogger;
  /** When given, Bijou's per-minute budget is shared through Redis by every worker. */
  redis?: Pick<Redis, 'eval'>;
  /** Prefix of the limiter's Redis key (default `genguard`). */
  redisKeyPrefix?: string;
  /** Overrides both the in-process and the Redis limiter. */
  rateLimiter?: RateLimiter;
}

/**
 * Builds the BitMind or Bijou backend from configuration. Throws `config_invalid` naming the
 * missing variables when credentials are absent, so `genguard scan --backend bitmind` fails at
 * start-up rather than on the first image.
 */
export function createRemoteBackend(config: Config, id: RemoteId, deps: RemoteBackendDeps = {}): DetectionBackend {
  const remote = config.remote;
  const common = {
    bands: config.bands,
    retry: remote.retry,
    breaker: remote.breaker,
    ...(deps.dispatcher === undefined ? {} : { dispatcher: deps.dispatcher }),
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
    ...(deps.logger === undefined ? {} : { logger: deps.logger }),
  };
  if (id === 'bitmind') {
    return new BitmindBackend({ ...common, baseUrl: remote.bitmind.baseUrl, credentials: bitmindCredentials(remote) });
  }
  const { apiKey, baseUrl } = remote.bijou;
  const missing = [apiKey ? undefined : 'BIJOU_API_KEY', baseUrl ? undefined : 'BIJOU_BASE_URL'].filter(Boolean);
  if (apiKey === undefined || baseUrl === undefined || missing.length > 0) {
    throw new GenguardError(
      'config_invalid',
      `the bijou backend needs ${missing.join(' and ')} (Bijou publishes no default base URL; use the one from your account)`,
    );
  }
  const limiter =
    deps.rateLimiter ??
    (deps.redis === undefined
      ? undefined
      : new RedisRateLimiter(deps.redis, {
          key: `${deps.redisKeyPrefix ?? 'genguard'}:ratelimit:bijou:${keyFingerprint(apiKey)}`,
          limit: remote.bijou.ratePerMinute,
          windowMs: 60_000,
        }));
  return new BijouBackend({
    ...common,
    baseUrl,
    apiKey,
    consent: remote.bijou.consent,
    ratePerMinute: remote.bijou.ratePerMinute,
    ...(limiter === undefined ? {} : { rateLimiter: limiter }),
  });
}

/** The remotes the cascade consults: GENGUARD_CASCADE_REMOTES, else every remote with credentials. */
export function cascadeRemoteIds(config: Config): RemoteId[] {
  const { cascade, bitmind, bijou } = config.remote;
  if (cascade.remotes !== undefined && cascade.remotes.length > 0) return [...new Set(cascade.remotes)];
  const ids: RemoteId[] = [];
  if (bitmind.apiKey !== undefined || bitmind.clientId !== undefined) ids.push('bitmind');
  if (bijou.apiKey !== undefined) ids.push('bijou');
  return ids;
}

function bitmindCredentials(remote: RemoteConfig): BitmindCredentials {
  const { auth, clientId, clientSecret, clientCertFile, apiKey } = remote.bitmind;
  const need = (...names: string[]) =>
    new GenguardError('config_invalid', `the bitmind backend (BITMIND_AUTH=${auth}) needs ${names.join(' and ')}`);
  switch (auth) {
    case 'api_key':
      if (apiKey === undefined) throw need('BITMIND_API_KEY');
      return { method: 'api_key', apiKey };
    case 'oauth':
      if (clientId === undefined || clientSecret === undefined) {
        throw need(...missingNames({ BITMIND_CLIENT_ID: clientId, BITMIND_CLIENT_SECRET: clientSecret }));
      }
      return { method: 'oauth', clientId, clientSecret };
    case 'mtls':
      if (clientId === undefined || clientCertFile === undefined) {
        throw need(...missingNames({ BITMIND_CLIENT_ID: clientId, BITMIND_CLIENT_CERT_FILE: clientCertFile }));
      }
      return { method: 'mtls', clientId, certificatePem: readCertificate(clientCertFile) };
    case 'auto':
      // A certificate means the client was registered with requires_mtls: it wins over a secret.
      if (clientId !== undefined && clientCertFile !== undefined) {
        return { method: 'mtls', clientId, certificatePem: readCertificate(clientCertFile) };
      }
      if (clientId !== undefined && clientSecret !== undefined) return { method: 'oauth', clientId, clientSecret };
      if (apiKey !== undefined) return { method: 'api_key', apiKey };
      if (clientId !== undefined) throw need('BITMIND_CLIENT_SECRET (OAuth) or BITMIND_CLIENT_CERT_FILE (OAuth + mTLS)');
      throw new GenguardError(
        'config_invalid',
        'the bitmind backend needs credentials: BITMIND_CLIENT_ID with BITMIND_CLIENT_SECRET (OAuth) or with BITMIND_CLIENT_CERT_FILE (OAuth + mTLS), or BITMIND_API_KEY (legacy key)',
      );
  }
}

function missingNames(values: Record<string, string | undefined>): string[] {
  return Object.entries(values)
    .filter(([, v]) => v === undefined)
    .map(([k]) => k);
}

function readCertificate(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new GenguardError('config_invalid', `BITMIND_CLIENT_CERT_FILE: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, {
      cause: error,
    });
  }
  // The contents are never quoted in the message.
  if (!/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(text)) {
    throw new GenguardError('config_invalid', `BITMIND_CLIENT_CERT_FILE: ${file} holds no PEM certificate`);
  }
  return text;
}
