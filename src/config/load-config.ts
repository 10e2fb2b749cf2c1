import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { z } from 'zod';
import { GenguardError } from '../errors/genguard-error.js';
import { decodeEncryptionKey } from './encryption-key.js';
import { envSchema, type Env } from './schema.js';
import type { Bands } from '../detector/result.js';
import { buildRemoteConfig, type RemoteConfig } from '../detector/remote/remote-config.js';

export interface IntakeLimits {
  maxBytes: number;
  maxPixels: number;
  fetchTimeoutMs: number;
  maxRedirects: number;
  allowHosts: string[];
}

/** Queue, worker and result-cache settings (src/queue); each field's env variable documents its default. */
export interface QueueConfig {
  redisUrl: string;
  prefix: string;
  concurrency: { detect: number; notify: number; slow: number };
  timeouts: { detectMs: number; slowMs: number; modelMs: Record<string, number> };
  attempts: { detect: number; notify: number; backoffMs: number };
  retention: { keepCompletedSeconds: number; keepFailedSeconds: number };
  lockMs: number;
  stalledIntervalMs: number;
  addTimeoutMs: number;
  /** Shared limiter for remote backends; null when GENGUARD_REMOTE_RATE_MAX is 0. */
  remoteRateLimit: { max: number; durationMs: number } | null;
  cache: { enabled: boolean; ttlSeconds: number; phashDistance: number };
  metrics: { port: number; host: string };
  /** The HTTP API's lane (src/queue/api-worker.ts); absent = 2 jobs at once. */
  api?: { concurrency: number };
}

/** Discord adapter settings (src/bots/discord); DiscordBot checks token and application id at start. */
export interface DiscordConfig {
  token: string | undefined;
  applicationId: string | undefined;
  /** REST base without the version, e.g. https://discord.com/api. */
  apiBase: string;
  devGuildId: string | undefined;
  mediaHosts: string[];
}

/** Slack adapter settings (src/bots/slack); SlackBot checks that the combination is usable. */
export interface SlackConfig {
  botToken: string | undefined;
  signingSecret: string | undefined;
  appToken: string | undefined;
  /** SLACK_SOCKET_MODE, or inferred: on when SLACK_APP_TOKEN is set. */
  socketMode: boolean;
  apiUrl: string;
  port: number;
  adminUserToken: string | undefined;
  oauth: { clientId: string | undefined; clientSecret: string | undefined; stateSecret: string | undefined };
  adminGroup: string | undefined;
  ephemeralChecks: boolean;
  fileHosts: string[];
}

/** Self-hosted detection API (src/server): listener, limits and per-key rate limit. */
export interface ApiConfig {
  port: number;
  host: string;
  timeoutMs: number;
  ratePerMinute: number;
  maxInflight: number;
  /** Private Redis data of `genguard start` (GENGUARD_DATA_DIR). */
  dataDir: string;
}

export interface Config {
  env: Env;
  /** HTTP API settings (GENGUARD_API_*). */
  api: ApiConfig;
  bands: Bands;
  intake: IntakeLimits;
  manifestPath: string;
  slack: SlackConfig;
  discord: DiscordConfig;
  queue: QueueConfig;
  /** Remote backends (BitMind, Bijou) and the cascade. */
  remote: RemoteConfig;
  /** GENGUARD_ENCRYPTION_KEY decoded (32 bytes): encrypts Slack installations in Redis; undefined = stored in the clear. */
  encryptionKey: Buffer | undefined;
}

/** The repository (or installed package) root, where `models/` lives. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function loadConfig(source: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) if (v !== undefined && v !== '') raw[k] = v;
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    throw new GenguardError('config_invalid', `invalid configuration:\n${z.prettifyError(parsed.error)}`);
  }
  const env = parsed.data;
  if (env.GENGUARD_UNCERTAIN_THRESHOLD > env.GENGUARD_AI_THRESHOLD) {
    throw new GenguardError(
      'config_invalid',
      'GENGUARD_UNCERTAIN_THRESHOLD must not be above GENGUARD_AI_THRESHOLD',
    );
  }
  return {
    env,
    bands: { ai: env.GENGUARD_AI_THRESHOLD, uncertain: env.GENGUARD_UNCERTAIN_THRESHOLD },
    intake: {
      maxBytes: env.GENGUARD_MAX_BYTES,
      maxPixels: env.GENGUARD_MAX_PIXELS,
      fetchTimeoutMs: env.GENGUARD_FETCH_TIMEOUT_MS,
      maxRedirects: env.GENGUARD_FETCH_MAX_REDIRECTS,
      allowHosts: env.GENGUARD_FETCH_ALLOW_HOSTS,
    },
    manifestPath: env.GENGUARD_MODELS_MANIFEST ?? path.join(PACKAGE_ROOT, 'models', 'manifest.json'),
    slack: {
      botToken: env.SLACK_BOT_TOKEN,
      signingSecret: env.SLACK_SIGNING_SECRET,
      appToken: env.SLACK_APP_TOKEN,
      socketMode: env.SLACK_SOCKET_MODE ?? env.SLACK_APP_TOKEN !== undefined,
      apiUrl: env.SLACK_API_URL,
      port: env.SLACK_PORT,
      adminUserToken: env.SLACK_ADMIN_USER_TOKEN,
      oauth: { clientId: env.SLACK_CLIENT_ID, clientSecret: env.SLACK_CLIENT_SECRET, stateSecret: env.SLACK_STATE_SECRET },
      adminGroup: env.SLACK_ADMIN_GROUP,
      ephemeralChecks: env.SLACK_AICHECK_EPHEMERAL,
      fileHosts: env.SLACK_FILE_HOSTS,
    },
    queue: {
      redisUrl: env.REDIS_URL,
      prefix: env.GENGUARD_QUEUE_PREFIX,
      concurrency: {
        detect: env.GENGUARD_WORKER_CONCURRENCY,
        notify: env.GENGUARD_NOTIFY_CONCURRENCY,
        slow: env.GENGUARD_SLOW_CONCURRENCY,
      },
      timeouts: {
        detectMs: env.GENGUARD_DETECT_TIMEOUT_MS,
        slowMs: env.GENGUARD_SLOW_TIMEOUT_MS,
        modelMs: env.GENGUARD_MODEL_TIMEOUTS,
      },
      attempts: {
        detect: env.GENGUARD_QUEUE_ATTEMPTS,
        notify: env.GENGUARD_NOTIFY_ATTEMPTS,
        backoffMs: env.GENGUARD_QUEUE_BACKOFF_MS,
      },
      retention: {
        keepCompletedSeconds: env.GENGUARD_QUEUE_KEEP_COMPLETED_SECONDS,
        keepFailedSeconds: env.GENGUARD_QUEUE_KEEP_FAILED_SECONDS,
      },
      lockMs: env.GENGUARD_QUEUE_LOCK_MS,
      stalledIntervalMs: env.GENGUARD_QUEUE_STALLED_INTERVAL_MS,
      addTimeoutMs: env.GENGUARD_QUEUE_ADD_TIMEOUT_MS,
      remoteRateLimit:
        env.GENGUARD_REMOTE_RATE_MAX > 0
          ? { max: env.GENGUARD_REMOTE_RATE_MAX, durationMs: env.GENGUARD_REMOTE_RATE_WINDOW_MS }
          : null,
      cache: {
        enabled: env.GENGUARD_CACHE,
        ttlSeconds: env.GENGUARD_CACHE_TTL_SECONDS,
        phashDistance: env.GENGUARD_CACHE_PHASH_DISTANCE,
      },
      metrics: { port: env.GENGUARD_METRICS_PORT, host: env.GENGUARD_METRICS_HOST },
      api: { concurrency: env.GENGUARD_API_CONCURRENCY },
    },
    api: {
      port: env.GENGUARD_API_PORT,
      host: env.GENGUARD_API_HOST,
      timeoutMs: env.GENGUARD_API_TIMEOUT_MS,
      ratePerMinute: env.GENGUARD_API_RATE_LIMIT_PER_MINUTE,
      maxInflight: env.GENGUARD_API_MAX_INFLIGHT,
      dataDir: env.GENGUARD_DATA_DIR,
    },
    remote: buildRemoteConfig(env),
    encryptionKey: env.GENGUARD_ENCRYPTION_KEY === undefined ? undefined : decodeEncryptionKey(env.GENGUARD_ENCRYPTION_KEY),
    discord: {
      token: env.DISCORD_TOKEN,
      applicationId: env.DISCORD_APPLICATION_ID,
      apiBase: env.DISCORD_API_BASE.replace(/\/+$/, ''),
      devGuildId: env.DISCORD_DEV_GUILD_ID,
      mediaHosts: env.DISCORD_MEDIA_HOSTS,
    },
  };
}
