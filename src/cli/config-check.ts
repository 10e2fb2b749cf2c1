import type { z } from 'zod';
import { UNENCRYPTED_INSTALLATIONS_WARNING } from '../bots/slack/redis-installation-store.js';
import { resolveSlackSetup } from '../bots/slack/slack-bot.js';
import { loadConfig, type Config } from '../config/load-config.js';
import { envSchema } from '../config/schema.js';
import { selectModels } from '../detector/create-local-ensemble.js';
import { loadManifest } from '../detector/manifest.js';
import { checkFile, filesOf } from '../detector/model-store/model-files.js';
import { createRemoteBackend } from '../detector/remote/create-remote-backend.js';
import { toGenguardError } from '../errors/genguard-error.js';
import { closeRedis, createProducerRedis, waitForReady } from '../queue/redis-connections.js';
import { readRunningUrl } from './private-redis.js';

export type Source = 'environment' | '.env' | 'default' | 'unset';

export interface ConfigReport {
  values: Array<{ key: string; value: string; source: Source }>;
  problems: string[];
  warnings: string[];
}

export interface CheckOptions {
  env: NodeJS.ProcessEnv;
  /** Keys that came from `.env` rather than the real environment. */
  fromFile: ReadonlySet<string>;
  /** Skip the Redis connection test. */
  offline?: boolean;
  onPath: (binary: string) => boolean;
}

const SECRET = /(TOKEN|SECRET|PASSWORD|API_KEY)$/;
/** Keys are shown not even in part: their last characters are a guessable share of 32 bytes. */
const KEY = /ENCRYPTION_KEY$/;

/** How a value is shown: secrets keep their last four characters at most, keys none, URLs lose their password. */
export function maskValue(key: string, value: string): string {
  if (KEY.test(key)) return `**** (${value.length} chars)`;
  if (SECRET.test(key)) return value.length >= 16 ? `****${value.slice(-4)} (${value.length} chars)` : `**** (${value.length} chars)`;
  if (/_URL$/.test(key) && value.includes('@')) {
    try {
      const u = new URL(value);
      if (u.password) u.password = '****';
      if (u.username && !u.password) u.username = '****';
      return u.toString();
    } catch {
      return '****';
    }
  }
  return value;
}

/** A parsed value as a variable would spell it (lists comma-separated, maps as k=v). */
export function renderValue(value: unknown): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.join(',');
  if (value && typeof value === 'object') return Object.entries(value).map(([k, v]) => `${k}=${String(v)}`).join(',');
  return String(value);
}

/**
 * Everything `genguard config check` reports: each variable's effective value and where it came
 * from, and every problem found — invalid values, platform settings that cannot work, an
 * unreachable Redis, model files missing or failing their checksum, remote backends without
 * credentials. Collects all of them rather than stopping at the first.
 */
export async function checkConfig(options: CheckOptions): Promise<ConfigReport> {
  const { env } = options;
  const report: ConfigReport = { values: [], problems: [], warnings: [] };
  const shape = envSchema.shape as Record<string, z.ZodType>;
  // Invalid variables are reported, then left out, so the other checks still run on the rest.
  const usable: NodeJS.ProcessEnv = { ...env };
  for (const [key, schema] of Object.entries(shape)) {
    const raw = env[key] === '' ? undefined : env[key];
    const parsed = schema.safeParse(raw);
    const source: Source = raw !== undefined ? (options.fromFile.has(key) ? '.env' : 'environment') : parsed.success && parsed.data !== undefined ? 'default' : 'unset';
    if (!parsed.success) {
      delete usable[key];
      report.problems.push(`${key}: ${parsed.error.issues.map((i) => i.message).join('; ')} (got "${maskValue(key, raw ?? '')}")`);
    }
    report.values.push({ key, source, value: maskValue(key, raw !== undefined && !parsed.success ? raw : renderValue(parsed.success ? parsed.data : undefined)) });
  }
  let config: Config;
  try {
    config = loadConfig(usable);
  } catch (error) {
    // Cross-variable problems (e.g. the band order).
    report.problems.push(toGenguardError(error).message);
    return report;
  }
  await checkPlatforms(config, report, env);
  await checkRedis(config, options, report);
  await checkModels(config, report);
  checkBackend(config, report);
  return report;
}

async function checkPlatforms(config: Config, report: ConfigReport, env: NodeJS.ProcessEnv): Promise<void> {
  const { discord, slack } = config;
  if (discord.token && !discord.applicationId) report.problems.push('DISCORD_TOKEN is set but DISCORD_APPLICATION_ID is not (developer portal → General Information → Application ID)');
  if (!discord.token && discord.applicationId) report.problems.push('DISCORD_APPLICATION_ID is set but DISCORD_TOKEN is not (developer portal → Bot → Reset Token)');
  const slackSet = [slack.botToken, slack.appToken, slack.signingSecret, slack.oauth.clientId, slack.oauth.clientSecret].some((v) => v !== undefined);
  if (slackSet) {
    try {
      const setup = resolveSlackSetup(slack);
      // An invalid key was reported above; only a key left unset stores tokens in the clear.
      if (setup.auth.kind === 'oauth' && config.encryptionKey === undefined && !env['GENGUARD_ENCRYPTION_KEY']) {
        report.warnings.push(UNENCRYPTED_INSTALLATIONS_WARNING);
      }
    } catch (error) {
      report.problems.push(`Slack: ${toGenguardError(error).message}`);
    }
  }
  if (!discord.token && !slackSet) {
    report.warnings.push('no DISCORD_TOKEN and no Slack token: `genguard start` runs no chat adapter (the HTTP API and workers still run)');
  }
}

async function checkRedis(config: Config, options: CheckOptions, report: ConfigReport): Promise<void> {
  let url = config.queue.redisUrl;
  if (!options.env['REDIS_URL']) {
    const running = readRunningUrl(config.api.dataDir);
    if (!running) {
      if (options.onPath('redis-server')) {
        report.warnings.push(`REDIS_URL is not set: \`genguard start\` will run a private Redis with its data in ${config.api.dataDir}; the other commands need REDIS_URL`);
      } else {
        report.problems.push('REDIS_URL is not set and no redis-server is on the PATH: set REDIS_URL, or install Redis (apt-get install redis-server / brew install redis)');
      }
      return;
    }
    url = running;
  }
  if (options.offline) return;
  const redis = createProducerRedis(url);
  try {
    if (!(await waitForReady(redis, 3_000)) || (await redis.ping()) !== 'PONG') throw new Error('no answer within 3 s');
  } catch (error) {
    report.problems.push(`Redis at ${maskValue('REDIS_URL', url)} is unreachable: ${(error as Error).message}`);
  } finally {
    await closeRedis(redis);
  }
}

async function checkModels(config: Config, report: ConfigReport): Promise<void> {
  if (config.env.GENGUARD_BACKEND === 'bitmind' || config.env.GENGUARD_BACKEND === 'bijou') return;
  let manifest;
  try {
    manifest = await loadManifest(config.manifestPath);
  } catch (error) {
    report.problems.push(toGenguardError(error).message);
    return;
  }
  let models;
  try {
    models = selectModels(manifest, config.env.GENGUARD_MODELS);
  } catch (error) {
    report.problems.push(`GENGUARD_MODELS: ${toGenguardError(error).message}`);
    return;
  }
  const slow = config.queue.concurrency.slow > 0 ? manifest.models.filter((m) => m.enabled && m.slow && !models.includes(m)) : [];
  for (const model of [...models, ...slow]) {
    for (const ref of filesOf(model, manifest.dir)) {
      const state = await checkFile(ref);
      const what = `model "${model.id}" (${ref.role}: ${ref.file})`;
      if (state.status === 'missing') report.problems.push(`${what} is missing; fetch it with genguard models (see docs) or drop it from GENGUARD_MODELS`);
      else if (state.status === 'mismatch') report.problems.push(`${what} fails its checksum: sha256 ${state.sha256}, the manifest expects ${state.expected}`);
      else if (state.status === 'unpinned') report.warnings.push(`${what} has no sha256 in the manifest, so it cannot be verified`);
    }
  }
}

function checkBackend(config: Config, report: ConfigReport): void {
  const backend = config.env.GENGUARD_BACKEND;
  const remotes: Array<'bitmind' | 'bijou'> =
    backend === 'cascade' ? (config.env.GENGUARD_CASCADE_REMOTES ?? []) : backend === 'local' ? [] : [backend];
  if (backend === 'cascade' && remotes.length === 0) {
    const env = config.env;
    if (!env.BITMIND_API_KEY && !env.BITMIND_CLIENT_ID && !env.BIJOU_API_KEY) {
      report.problems.push('GENGUARD_BACKEND=cascade needs a remote: BITMIND_CLIENT_ID/BITMIND_CLIENT_SECRET, BITMIND_API_KEY or BIJOU_API_KEY');
    }
  }
  for (const remote of remotes) {
    try {
      void createRemoteBackend(config, remote).close();
    } catch (error) {
      report.problems.push(`GENGUARD_BACKEND=${backend}: ${toGenguardError(error).message}`);
    }
  }
}
