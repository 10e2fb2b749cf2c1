import { z } from 'zod';
import { decodeEncryptionKey, ENCRYPTION_KEY_FORMAT } from './encryption-key.js';

const bool = z
  .union([z.boolean(), z.string()])
  .transform((v, ctx) => {
    if (typeof v === 'boolean') return v;
    const s = v.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
    ctx.addIssue({ code: 'custom', message: `expected a boolean, got "${v}"` });
    return z.NEVER;
  });
const num = (def: number) => z.coerce.number().default(def);
const int = (def: number) => z.coerce.number().int().default(def);
const list = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );

/**
 * Every environment variable genguard reads, with its default. Parsed once at the edge
 * (CLI start-up); the typed `Config` is passed down. `.env.example` documents the same list.
 */
export const envSchema = z.object({
  // --- verdict bands ---
  /** Score at or above which an image is `ai_generated` and moderators are alerted. */
  GENGUARD_AI_THRESHOLD: num(0.7).pipe(z.number().min(0).max(1)),
  /** Score at or above which (and below the AI threshold) an image is `uncertain`. */
  GENGUARD_UNCERTAIN_THRESHOLD: num(0.4).pipe(z.number().min(0).max(1)),

  // --- intake ---
  /** Largest accepted image, in bytes. */
  GENGUARD_MAX_BYTES: int(10 * 1024 * 1024).pipe(z.number().positive()),
  /** Largest accepted image, in pixels (width × height), checked before decoding. */
  GENGUARD_MAX_PIXELS: int(40_000_000).pipe(z.number().positive()),
  /** Timeout for downloading an image URL, in milliseconds. */
  GENGUARD_FETCH_TIMEOUT_MS: int(15_000).pipe(z.number().positive()),
  /** Redirects followed when downloading an image URL. */
  GENGUARD_FETCH_MAX_REDIRECTS: int(3).pipe(z.number().min(0)),
  /** Hosts or IPs that may be fetched although private/loopback (comma-separated; e.g. 127.0.0.1). */
  GENGUARD_FETCH_ALLOW_HOSTS: list.default([]),

  // --- detection ---
  /** Model manifest; defaults to the models/manifest.json shipped with genguard. */
  GENGUARD_MODELS_MANIFEST: z.string().optional(),
  /** Comma-separated model ids to run (default: every enabled, non-slow entry of the manifest). */
  GENGUARD_MODELS: list.optional(),
  /** onnxruntime intra-op threads per session (0 = onnxruntime's default: one per core). */
  GENGUARD_ORT_THREADS: int(0).pipe(z.number().min(0)),
  /** Backend: local ensemble, a remote API, or local first then remote when uncertain. */
  GENGUARD_BACKEND: z.enum(['local', 'bitmind', 'bijou', 'cascade']).default('local'),

  // --- queue, workers and result cache (src/queue) ---
  /** Redis holding the queues, the result cache and settings. Workers reconnect forever; producers fail fast (GENGUARD_QUEUE_ADD_TIMEOUT_MS). */
  REDIS_URL: z.string().min(1).default('redis://127.0.0.1:6379'),
  /** Prefix of every Redis key genguard writes (queues, cache, locks), so several deployments can share one Redis. */
  GENGUARD_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only')
    .default('genguard'),
  /** Detection jobs one `genguard worker` process runs at once. */
  GENGUARD_WORKER_CONCURRENCY: int(2).pipe(z.number().min(1)),
  /** Notify jobs (replies and moderator alerts) one worker process posts at once. */
  GENGUARD_NOTIFY_CONCURRENCY: int(8).pipe(z.number().min(1)),
  /** Deep-scan jobs (slow opt-in models) one worker process runs at once; 0 = this process runs no slow lane. */
  GENGUARD_SLOW_CONCURRENCY: int(1).pipe(z.number().min(0)),
  /** Detection timeout per attempt on the main lane, in milliseconds. */
  GENGUARD_DETECT_TIMEOUT_MS: int(60_000).pipe(z.number().positive()),
  /** Detection timeout per attempt on the slow lane, in milliseconds (models without a GENGUARD_MODEL_TIMEOUTS entry). */
  GENGUARD_SLOW_TIMEOUT_MS: int(300_000).pipe(z.number().positive()),
  /** Per-model timeouts for slow models, "id=ms" comma-separated (e.g. "aeroblade=240000,univfd=90000"). */
  GENGUARD_MODEL_TIMEOUTS: list
    .transform((items, ctx) => {
      const out: Record<string, number> = {};
      for (const item of items) {
        const m = /^([A-Za-z0-9_.-]+)=(\d+)$/.exec(item);
        if (!m?.[1] || !m[2] || Number(m[2]) <= 0) {
          ctx.addIssue({ code: 'custom', message: `expected "model=milliseconds", got "${item}"` });
          return z.NEVER;
        }
        out[m[1]] = Number(m[2]);
      }
      return out;
    })
    .default({}),
  /** Attempts per detection job (first try included) when failures are retryable. */
  GENGUARD_QUEUE_ATTEMPTS: int(4).pipe(z.number().min(1)),
  /** First retry delay in milliseconds; doubles per attempt (with jitter) and is at least a remote's Retry-After. */
  GENGUARD_QUEUE_BACKOFF_MS: int(2_000).pipe(z.number().min(0)),
  /** Attempts per notify job (posting a reply or an alert): rides out platform outages of several minutes. */
  GENGUARD_NOTIFY_ATTEMPTS: int(8).pipe(z.number().min(1)),
  /** How long failed jobs are kept for inspection, in seconds (default 7 days). */
  GENGUARD_QUEUE_KEEP_FAILED_SECONDS: int(7 * 86_400).pipe(z.number().min(0)),
  /** How long completed jobs are kept, in seconds; while kept they also swallow a re-enqueue of the same scan id. */
  GENGUARD_QUEUE_KEEP_COMPLETED_SECONDS: int(3_600).pipe(z.number().min(0)),
  /** Job lock in milliseconds: a killed worker's job runs again elsewhere after about this plus the stalled interval. */
  GENGUARD_QUEUE_LOCK_MS: int(30_000).pipe(z.number().min(1_000)),
  /** How often workers look for stalled jobs (lock expired, worker gone), in milliseconds. */
  GENGUARD_QUEUE_STALLED_INTERVAL_MS: int(30_000).pipe(z.number().min(500)),
  /** How long enqueueing waits for an unreachable Redis before failing with `queue_unavailable`, in milliseconds. */
  GENGUARD_QUEUE_ADD_TIMEOUT_MS: int(5_000).pipe(z.number().positive()),
  /** Remote API rate limit shared by every worker (jobs per window) when the backend is bitmind or bijou; 0 = none. */
  GENGUARD_REMOTE_RATE_MAX: int(100).pipe(z.number().min(0)),
  /** Window of GENGUARD_REMOTE_RATE_MAX, in milliseconds. */
  GENGUARD_REMOTE_RATE_WINDOW_MS: int(60_000).pipe(z.number().positive()),
  /** Result cache by sha256 and perceptual hash (on/off). Off: nothing about an image outlives its job in Redis. */
  GENGUARD_CACHE: bool.default(true),
  /** How long a cached verdict is reused, in seconds (default 7 days). */
  GENGUARD_CACHE_TTL_SECONDS: int(7 * 86_400).pipe(z.number().positive()),
  /** Largest Hamming distance (of 64 bits) at which a perceptual match reuses a verdict; 0 = exact bytes only. */
  GENGUARD_CACHE_PHASH_DISTANCE: int(4).pipe(z.number().min(0).max(7)),
  /** Port of the worker's Prometheus `/metrics` and `/healthz` HTTP server; 0 = no server. */
  GENGUARD_METRICS_PORT: int(9464).pipe(z.number().min(0).max(65_535)),
  /** Address the worker's metrics server listens on. */
  GENGUARD_METRICS_HOST: z.string().default('0.0.0.0'),

  // --- remote backends (src/detector/remote) ---
  /** BitMind enterprise API base URL (../shared/specs/bitmind-image.md); point it at `npm run fake:bitmind` to try without an account. */
  BITMIND_BASE_URL: z.url().default('https://enterprise.bitmind.ai'),
  /** BitMind auth method: `auto` picks mtls (id + cert file), then oauth (id + secret), then api_key. */
  BITMIND_AUTH: z.enum(['auto', 'oauth', 'mtls', 'api_key']).default('auto'),
  /** BitMind OAuth client id (oauth and mtls). */
  BITMIND_CLIENT_ID: z.string().optional(),
  /** BitMind OAuth client secret (oauth). Never logged. */
  BITMIND_CLIENT_SECRET: z.string().optional(),
  /** File holding the PEM client certificate sent base64-encoded as `X-Client-Cert` (mtls). Never logged. */
  BITMIND_CLIENT_CERT_FILE: z.string().optional(),
  /** Legacy BitMind organisation key, sent as `Bearer enterprise-<key>`. Never logged. */
  BITMIND_API_KEY: z.string().optional(),
  /**
   * Bijou API base URL. The Bijou spec publishes no host, so there is no default: set the URL from
   * your Bijou account (or `npm run fake:bijou`'s); guessing one would send the API key to a stranger.
   */
  BIJOU_BASE_URL: z.url().optional(),
  /** Bijou API key (`bijou_…`), sent as `X-Api-Key`. Never logged. */
  BIJOU_API_KEY: z.string().optional(),
  /** Lets Bijou store uploaded images for research. Off unless the operator opts in. */
  BIJOU_CONSENT: bool.default(false),
  /** Bijou requests per minute, shared by every backend instance of a process (or every worker, given Redis). */
  BIJOU_RATE_LIMIT_PER_MINUTE: int(100).pipe(z.number().min(1)),
  /** Timeout of one HTTP exchange with a remote, connect to last byte, in milliseconds. */
  GENGUARD_REMOTE_TIMEOUT_MS: int(10_000).pipe(z.number().positive()),
  /** Budget for one remote detection, retries and waits included, in milliseconds. */
  GENGUARD_REMOTE_DEADLINE_MS: int(30_000).pipe(z.number().positive()),
  /** In-client retries of a retryable remote failure (429, 5xx, timeouts); the queue retries again at job level. */
  GENGUARD_REMOTE_RETRIES: int(2).pipe(z.number().min(0).max(10)),
  /** First in-client retry delay in milliseconds; doubles per retry, with jitter. A Retry-After wins. */
  GENGUARD_REMOTE_RETRY_BASE_MS: int(250).pipe(z.number().min(0)),
  /** Cap of one in-client backoff step, in milliseconds. */
  GENGUARD_REMOTE_RETRY_MAX_MS: int(5_000).pipe(z.number().min(0)),
  /** Consecutive failed remote detections that mark a remote unavailable for GENGUARD_REMOTE_COOLDOWN_MS. */
  GENGUARD_REMOTE_BREAKER_FAILURES: int(3).pipe(z.number().min(1)),
  /** How long a failing remote (or one rejecting our credentials) is left alone, in milliseconds. */
  GENGUARD_REMOTE_COOLDOWN_MS: int(60_000).pipe(z.number().min(0)),
  /** How long a remote that answered "out of credits" is left alone, in milliseconds (default 1 h). */
  GENGUARD_REMOTE_CREDITS_COOLDOWN_MS: int(3_600_000).pipe(z.number().min(0)),
  /** Remotes the cascade consults (comma-separated bitmind,bijou); default: every remote with credentials. */
  GENGUARD_CASCADE_REMOTES: list.pipe(z.array(z.enum(['bitmind', 'bijou']))).optional(),
  /** Cascade weight of the local ensemble when a remote answers; 0 (default) = the remote decides. */
  GENGUARD_CASCADE_LOCAL_WEIGHT: num(0).pipe(z.number().min(0)),
  /** Cascade weight of BitMind's score. */
  GENGUARD_CASCADE_BITMIND_WEIGHT: num(1).pipe(z.number().min(0)),
  /** Cascade weight of Bijou's ensemble score. */
  GENGUARD_CASCADE_BIJOU_WEIGHT: num(1).pipe(z.number().min(0)),

  // --- Slack adapter (src/bots/slack; see slack/manifest.yml) ---
  /** Bot token (xoxb-…) for single-workspace mode. Leave unset in OAuth (multi-workspace) mode. */
  SLACK_BOT_TOKEN: z.string().min(1).optional(),
  /** Signing secret of the Slack app; required in HTTP (Events API) mode, where every request is verified with it. */
  SLACK_SIGNING_SECRET: z.string().min(1).optional(),
  /** App-level token (xapp-…, scope connections:write) for Socket Mode. */
  SLACK_APP_TOKEN: z.string().min(1).optional(),
  /** Socket Mode on/off; unset = on exactly when SLACK_APP_TOKEN is set. HTTP mode listens on SLACK_PORT. */
  SLACK_SOCKET_MODE: bool.optional(),
  /** Slack Web API base URL (given to Bolt as clientOptions.slackApiUrl); tests point it at a fake. */
  SLACK_API_URL: z.url({ protocol: /^https?$/ }).default('https://slack.com/api/'),
  /** HTTP port for the Events API, slash commands, interactivity and the OAuth pages (Socket Mode: OAuth pages only). */
  SLACK_PORT: int(3000).pipe(z.number().min(0).max(65_535)),
  /** Optional user token (xoxp-…, user scopes chat:write and files:write) of a workspace admin: enables the alert's Delete button. */
  SLACK_ADMIN_USER_TOKEN: z.string().min(1).optional(),
  /** OAuth client id (multi-workspace mode, with SLACK_CLIENT_SECRET and SLACK_STATE_SECRET). */
  SLACK_CLIENT_ID: z.string().min(1).optional(),
  /** OAuth client secret (multi-workspace mode). */
  SLACK_CLIENT_SECRET: z.string().min(1).optional(),
  /** Secret that signs the OAuth `state` parameter (multi-workspace mode); any long random string. */
  SLACK_STATE_SECRET: z.string().min(1).optional(),
  /**
   * Key that encrypts the stored OAuth installations (bot tokens) in Redis with AES-256-GCM: 32 random bytes
   * as base64 or hex (`openssl rand -base64 32`). Unset = plain JSON. Keep it: without it installations must be redone. Never logged.
   */
  GENGUARD_ENCRYPTION_KEY: z
    .string()
    .refine((v) => decodeEncryptionKey(v) !== undefined, `expected ${ENCRYPTION_KEY_FORMAT}`)
    .optional(),
  /** User group id (S…) whose members may change /aiscan settings, besides workspace admins and owners. */
  SLACK_ADMIN_GROUP: z.string().regex(/^S[A-Z0-9]+$/, 'a user group id such as S0123ABCD').optional(),
  /** Answers to /aicheck and the "Check for AI" shortcut are visible only to the requester (ephemeral). */
  SLACK_AICHECK_EPHEMERAL: bool.default(true),
  /** Hosts that may receive the bot token when /aicheck is given a URL (comma-separated; Slack's own file host). */
  SLACK_FILE_HOSTS: list.default(['files.slack.com']),

  // --- Discord adapter (src/bots/discord) ---
  /** Bot token from the developer portal (Bot → Reset Token). Required by `genguard discord`. */
  DISCORD_TOKEN: z.string().min(1).optional(),
  /** Application id (General Information → Application ID); commands are registered under it. */
  DISCORD_APPLICATION_ID: z.string().regex(/^\d{5,25}$/, 'a Discord snowflake (digits)').optional(),
  /** REST API base without the version (discord.js `rest.api`); tests point it at a fake Discord. */
  DISCORD_API_BASE: z.url({ protocol: /^https?$/ }).default('https://discord.com/api'),
  /** Registers the commands in this one guild (instant, for development) instead of globally. */
  DISCORD_DEV_GUILD_ID: z.string().regex(/^\d{5,25}$/, 'a Discord snowflake (digits)').optional(),
  /** Hosts the worker may download Discord attachments from (comma-separated); other attachment URLs are not scanned. */
  DISCORD_MEDIA_HOSTS: list.default(['cdn.discordapp.com', 'media.discordapp.net']),

  // --- HTTP API and processes (src/server, src/cli; see docs/operating.md) ---
  /** Port of the self-hosted detection API (`genguard serve`, `genguard start`); 0 = `genguard start` runs no API server. */
  GENGUARD_API_PORT: int(8080).pipe(z.number().min(0).max(65_535)),
  /** Address the API listens on. */
  GENGUARD_API_HOST: z.string().min(1).default('0.0.0.0'),
  /** Longest an API request waits for its detection (queue wait included) before answering 504, in milliseconds. */
  GENGUARD_API_TIMEOUT_MS: int(30_000).pipe(z.number().min(1_000)),
  /** Requests per minute per API key, unless the key was created with its own `--rate-limit`. */
  GENGUARD_API_RATE_LIMIT_PER_MINUTE: int(120).pipe(z.number().min(1)),
  /** API detection jobs one worker process runs at once; 0 = this process serves no API traffic. */
  GENGUARD_API_CONCURRENCY: int(2).pipe(z.number().min(0)),
  /** API requests one API process holds at once (each may park up to GENGUARD_MAX_BYTES in Redis); more get 503. */
  GENGUARD_API_MAX_INFLIGHT: int(64).pipe(z.number().min(1)),
  /** Where `genguard start` keeps its private Redis (append-only file) when REDIS_URL is not set. */
  GENGUARD_DATA_DIR: z.string().min(1).default('./data'),

  // --- logging ---
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof envSchema>;
export { bool as envBool };
