import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REST } from 'discord.js';
import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { AlertStore } from '../bots/discord/alert-store.js';
import { DiscordBot } from '../bots/discord/discord-bot.js';
import { DiscordNotifier } from '../bots/discord/discord-notifier.js';
import { SettingsStore } from '../bots/shared/guild-settings.js';
import { createSlackWorkerParts, SlackBot } from '../bots/slack/slack-bot.js';
import { loadConfig, PACKAGE_ROOT, type Config } from '../config/load-config.js';
import type { Notifier, NotifierSet } from '../queue/notifier.js';
import { closeRedis, createWorkerRedis, waitForReady } from '../queue/redis-connections.js';
import { ScanProducer } from '../queue/scan-producer.js';
import type { CredentialsResolver } from '../queue/worker-deps.js';
import { GenguardError } from '../errors/genguard-error.js';
import { readRunningUrl } from './private-redis.js';
import type { WorkerCommandDeps } from './worker-command.js';

/**
 * How the CLI's long-running commands put the parts together: loggers, Redis, the platform
 * adapters and the notifiers workers post with. Kept in one place so `start`, `discord`, `slack`
 * and `worker` build the same thing.
 */

/** Paths pino blanks out, in case a secret ever reaches a log call as a field. */
const REDACT = [
  'token',
  'apiKey',
  'password',
  'authorization',
  'key',
  '*.token',
  '*.apiKey',
  '*.password',
  '*.authorization',
  'headers.authorization',
  'headers["x-api-key"]',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
];

export function createLogger(config: Pick<Config, 'env'>, name = 'genguard'): Logger {
  return pino({ name, level: config.env.LOG_LEVEL, redact: { paths: REDACT, censor: '[redacted]' } });
}

/**
 * The configuration of a long-running command. Without REDIS_URL, a command finds the private
 * Redis of a running `genguard start` in the same data directory (so `genguard keys create` works
 * beside it); otherwise the schema's default applies.
 */
export function loadRuntimeConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config = loadConfig(env);
  if (env['REDIS_URL']) return config;
  const running = readRunningUrl(config.api.dataDir);
  return running ? withRedisUrl(config, running) : config;
}

export function withRedisUrl(config: Config, redisUrl: string): Config {
  return { ...config, queue: { ...config.queue, redisUrl } };
}

/** Masks a URL's password for logs and messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** Waits for Redis at start-up, so a wrong REDIS_URL is one clear error rather than endless reconnects. */
export async function connectRedis(config: Config, logger: Logger, name: string, timeoutMs = 30_000): Promise<Redis> {
  const redis = createWorkerRedis(config.queue.redisUrl, (error) => logger.debug({ err: error.message }, 'redis connection error'), name);
  if (!(await waitForReady(redis, timeoutMs))) {
    redis.disconnect();
    throw new GenguardError('queue_unavailable', `Redis at ${safeUrl(config.queue.redisUrl)} did not answer within ${timeoutMs / 1000} s; check REDIS_URL`);
  }
  return redis;
}

export const discordConfigured = (config: Config): boolean => config.discord.token !== undefined;
export const slackConfigured = (config: Config): boolean =>
  config.slack.botToken !== undefined || config.slack.oauth.clientId !== undefined;

/** The chat adapters of one process, and what a worker in the same process needs from them. */
export interface Adapters {
  discord?: DiscordBot;
  slack?: SlackBot;
  notifiers: NotifierSet;
  credentials?: CredentialsResolver;
  healthy(): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startAdapters(config: Config, logger: Logger, which: { discord: boolean; slack: boolean }): Promise<Adapters> {
  const redis = await connectRedis(config, logger, 'genguard-bot');
  const producer = ScanProducer.fromConfig(config, { onError: (error) => logger.debug({ err: error.message }, 'producer redis error') });
  let discord: DiscordBot | undefined;
  let slack: SlackBot | undefined;
  const stop = async () => {
    await Promise.allSettled([discord?.stop(), slack?.stop()]);
    await producer.close();
    await closeRedis(redis);
  };
  try {
    if (which.discord) {
      discord = new DiscordBot({ config, producer, settings: new SettingsStore({ redis, prefix: config.queue.prefix }), redis, logger: logger.child({ platform: 'discord' }) });
      await discord.start();
    }
    if (which.slack) {
      slack = new SlackBot({ config, producer, redis, logger });
      await slack.start();
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    ...(discord ? { discord } : {}),
    ...(slack ? { slack } : {}),
    notifiers: { ...(discord ? { discord: discord.notifier } : {}), ...(slack ? { slack: slack.notifier } : {}) },
    ...(slack ? { credentials: slack.credentials } : {}),
    async healthy() {
      if (redis.status !== 'ready') return false;
      return discord?.client ? discord.client.isReady() : true;
    },
    stop,
  };
}

/**
 * Notifiers and Slack credentials for a worker process without adapters (REST and Web API only).
 * Their Redis connection closes with the last notifier (WorkerRuntime closes notifiers).
 */
export async function workerPlatformParts(config: Config, logger: Logger): Promise<{ notifiers: NotifierSet; credentials?: CredentialsResolver }> {
  if (!discordConfigured(config) && !slackConfigured(config)) return { notifiers: {} };
  const redis = await connectRedis(config, logger, 'genguard-notify');
  const notifiers: NotifierSet = {};
  let credentials: CredentialsResolver | undefined;
  if (discordConfigured(config)) {
    const rest = new REST({ api: config.discord.apiBase }).setToken(config.discord.token!);
    notifiers.discord = new DiscordNotifier({
      rest,
      settings: new SettingsStore({ redis, prefix: config.queue.prefix }),
      alerts: new AlertStore({ redis, prefix: config.queue.prefix }),
      logger: logger.child({ platform: 'discord' }),
      maxBytes: config.intake.maxBytes,
    });
  }
  if (slackConfigured(config)) {
    const parts = createSlackWorkerParts({ config, redis, logger: logger.child({ platform: 'slack' }) });
    notifiers.slack = parts.notifier;
    credentials = parts.credentials;
  }
  const close = () => closeRedis(redis);
  for (const platform of ['discord', 'slack'] as const) {
    const notifier = notifiers[platform];
    if (notifier) notifiers[platform] = withClose(notifier, close);
  }
  return { notifiers, ...(credentials ? { credentials } : {}) };
}

function withClose(notifier: Notifier, close: () => Promise<void>): Notifier {
  return {
    platform: notifier.platform,
    reply: (job, context) => notifier.reply(job, context),
    alert: (job, context) => notifier.alert(job, context),
    close: async () => {
      await notifier.close?.();
      await close();
    },
  };
}

/** What main.ts passes to registerWorkerCommand: real notifiers and Slack credentials for `genguard worker`. */
export function workerCommandDeps(): WorkerCommandDeps {
  let parts: ReturnType<typeof workerPlatformParts> | undefined;
  const get = (config: Config, logger: Logger) => (parts ??= workerPlatformParts(config, logger));
  return {
    createNotifiers: async (config, logger) => (await get(config, logger)).notifiers,
    createCredentials: async (config, logger) => (await get(config, logger)).credentials,
  };
}

/** Resolves on the first SIGTERM/SIGINT ('drain'); a second one exits at once. */
export function stopSignal(): Promise<'drain'> {
  return new Promise((resolve) => {
    let draining = false;
    const onSignal = () => {
      if (draining) process.exit(1);
      draining = true;
      resolve('drain');
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** A TCP port option (0–65535). */
export function parsePort(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new GenguardError('usage', `${flag} must be a port number (0–65535), got "${value}"`);
  return n;
}

let version: string | undefined;
/** genguard's version, from package.json. */
export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}
