import type { Env } from '../../config/schema.js';
import type { RetryPolicy } from './retry.js';

export type RemoteId = 'bitmind' | 'bijou';

/** The `remote` section of Config: everything the remote backends and the cascade read. */
export interface RemoteConfig {
  bitmind: {
    baseUrl: string;
    auth: 'auto' | 'oauth' | 'mtls' | 'api_key';
    clientId: string | undefined;
    clientSecret: string | undefined;
    clientCertFile: string | undefined;
    apiKey: string | undefined;
  };
  bijou: {
    baseUrl: string | undefined;
    apiKey: string | undefined;
    consent: boolean;
    ratePerMinute: number;
  };
  retry: RetryPolicy;
  breaker: { failureThreshold: number; cooldownMs: number; creditsCooldownMs: number };
  cascade: {
    /** Explicit list, or undefined for "every remote with credentials". */
    remotes: RemoteId[] | undefined;
    weights: { local: number; bitmind: number; bijou: number };
  };
}

export function buildRemoteConfig(env: Env): RemoteConfig {
  return {
    bitmind: {
      baseUrl: env.BITMIND_BASE_URL,
      auth: env.BITMIND_AUTH,
      clientId: env.BITMIND_CLIENT_ID,
      clientSecret: env.BITMIND_CLIENT_SECRET,
      clientCertFile: env.BITMIND_CLIENT_CERT_FILE,
      apiKey: env.BITMIND_API_KEY,
    },
    bijou: {
      baseUrl: env.BIJOU_BASE_URL,
      apiKey: env.BIJOU_API_KEY,
      consent: env.BIJOU_CONSENT,
      ratePerMinute: env.BIJOU_RATE_LIMIT_PER_MINUTE,
    },
    retry: {
      retries: env.GENGUARD_REMOTE_RETRIES,
      baseDelayMs: env.GENGUARD_REMOTE_RETRY_BASE_MS,
      maxDelayMs: env.GENGUARD_REMOTE_RETRY_MAX_MS,
      attemptTimeoutMs: env.GENGUARD_REMOTE_TIMEOUT_MS,
      deadlineMs: env.GENGUARD_REMOTE_DEADLINE_MS,
    },
    breaker: {
      failureThreshold: env.GENGUARD_REMOTE_BREAKER_FAILURES,
      cooldownMs: env.GENGUARD_REMOTE_COOLDOWN_MS,
      creditsCooldownMs: env.GENGUARD_REMOTE_CREDITS_COOLDOWN_MS,
    },
    cascade: {
      remotes: env.GENGUARD_CASCADE_REMOTES,
      weights: {
        local: env.GENGUARD_CASCADE_LOCAL_WEIGHT,
        bitmind: env.GENGUARD_CASCADE_BITMIND_WEIGHT,
        bijou: env.GENGUARD_CASCADE_BIJOU_WEIGHT,
      },
    },
  };
}
