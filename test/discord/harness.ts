import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { DiscordBot } from '../../src/bots/discord/discord-bot.js';
import { SettingsStore, type GuildSettings } from '../../src/bots/shared/guild-settings.js';
import { loadConfig, type Config } from '../../src/config/load-config.js';
import { ImageLoader } from '../../src/intake/image-loader.js';
import { ScanProducer } from '../../src/queue/scan-producer.js';
import { WorkerRuntime } from '../../src/queue/worker-runtime.js';
import { FakeDiscord, type SentMessage } from '../fakes/discord/fake-discord.js';
import { ADMIN_PERMISSIONS, MEMBER_PERMISSIONS, MODERATOR_PERMISSIONS, type FakeGuild } from '../fakes/discord/payloads.js';
import { snowflake } from '../fakes/discord/snowflake.js';
import { testQueueConfig, uniquePrefix } from '../queue/helpers/fakes.js';
import { deletePrefix, type TestRedis } from '../queue/helpers/redis-server.js';
import { NamedScoreBackend } from '../helpers/named-score-backend.js';
import { seededPng } from '../helpers/seeded-png.js';
import { useHarness, type HarnessHooks } from '../helpers/use-harness.js';

export function makeGuild(): FakeGuild {
  const general = snowflake();
  return {
    id: snowflake(),
    name: 'Test Server',
    ownerId: '1',
    channels: [
      { id: general, name: 'general' },
      { id: snowflake(), name: 'random' },
      { id: snowflake(), name: 'mod-alerts' },
      { id: snowflake(), name: 'general-thread', type: 11, parentId: general },
    ],
    members: [
      { user: { id: snowflake(), username: 'alice' }, permissions: MEMBER_PERMISSIONS },
      { user: { id: snowflake(), username: 'mod' }, permissions: MODERATOR_PERMISSIONS },
      { user: { id: snowflake(), username: 'admin' }, permissions: ADMIN_PERMISSIONS },
      { user: { id: snowflake(), username: 'otherbot', bot: true }, permissions: MEMBER_PERMISSIONS },
    ],
  };
}

/** A small PNG whose bytes depend on `seed`. */
export const png = (seed: number, width = 96, height = 64): Promise<Buffer> => seededPng(seed, width, height);

export interface HarnessOptions {
  refusedIntents?: number;
  settings?: Partial<GuildSettings>;
  devGuild?: boolean;
  fake?: FakeDiscord;
}

/**
 * One Discord world for end-to-end tests: the fake Discord (REST + gateway + CDN), the real
 * DiscordBot on discord.js, the real queue (producer + worker runtime) on a real Redis under a
 * fresh prefix, and a fast fake backend whose score comes from the file name ("ai-93.png" →
 * 0.93, "real-12.png" → 0.12, anything else 0.5).
 */
export class Harness {
  readonly logs: Array<Record<string, unknown>> = [];
  bot!: DiscordBot;
  runtime!: WorkerRuntime;
  producer!: ScanProducer;
  settings!: SettingsStore;
  redisClient!: Redis;
  config!: Config;
  readonly backend = new NamedScoreBackend({ abstainingModel: true });
  readonly prefix = uniquePrefix('discord');
  readonly logger: Logger;
  #loader!: ImageLoader;

  private constructor(
    readonly redis: TestRedis,
    readonly fake: FakeDiscord,
  ) {
    const logs = this.logs;
    this.logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  }

  static async start(redis: TestRedis, options: HarnessOptions = {}): Promise<Harness> {
    const fake = options.fake ?? new FakeDiscord({ guilds: [makeGuild()], ...(options.refusedIntents ? { refusedIntents: options.refusedIntents } : {}) });
    if (!options.fake) await fake.start();
    const h = new Harness(redis, fake);
    h.config = loadConfig({
      DISCORD_TOKEN: fake.token,
      DISCORD_APPLICATION_ID: fake.applicationId,
      DISCORD_API_BASE: fake.apiBase,
      DISCORD_DEV_GUILD_ID: options.devGuild ? fake.guild().id : undefined,
      DISCORD_MEDIA_HOSTS: '127.0.0.1',
      GENGUARD_FETCH_ALLOW_HOSTS: '127.0.0.1',
      REDIS_URL: redis.url,
      GENGUARD_QUEUE_PREFIX: h.prefix,
    });
    h.redisClient = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    h.settings = new SettingsStore({ redis: h.redisClient, prefix: h.prefix });
    if (options.settings) {
      const preset = options.settings;
      await h.settings.update('discord', fake.guild().id, (s) => ({ ...s, ...preset }));
    }
    h.producer = ScanProducer.fromConfig(h.config, { addTimeoutMs: 2_000 });
    h.bot = h.#newBot();
    h.#loader = new ImageLoader({ limits: h.config.intake });
    h.runtime = new WorkerRuntime({
      queue: testQueueConfig(redis.url, h.prefix),
      backends: {
        get: async () => ({ backend: h.backend, modelSetVersion: 'fake-1' }),
        close: async () => {},
      },
      loader: h.#loader,
      notifiers: { discord: h.bot.notifier },
      defaultAlertThreshold: 0.7,
      logger: h.logger.child({ part: 'worker' }),
    });
    await h.runtime.start();
    await h.bot.start();
    return h;
  }

  #newBot(): DiscordBot {
    return new DiscordBot({
      config: this.config,
      producer: this.producer,
      settings: this.settings,
      redis: this.redisClient,
      clientOptions: { rest: { globalRequestsPerSecond: 10_000, retries: 1, timeout: 5_000 }, waitGuildTimeout: 1_000 },
      logger: this.logger.child({ part: 'bot' }),
    });
  }

  /** Stops the gateway client and starts a new DiscordBot on the same Redis (a process restart). */
  async restartBot(): Promise<void> {
    await this.bot.stop();
    this.bot = this.#newBot();
    await this.bot.start();
  }

  get guild() {
    return this.fake.guild();
  }

  channel(name: 'general' | 'random' | 'mod-alerts' | 'general-thread') {
    return this.fake.channel(name);
  }

  member(name: 'alice' | 'mod' | 'admin' | 'otherbot') {
    return this.fake.member(name);
  }

  async watch(extra: Partial<GuildSettings> = {}): Promise<void> {
    await this.settings.update('discord', this.guild.id, (s) => ({
      ...s,
      watchedChannels: [this.channel('general').id],
      alertChannel: this.channel('mod-alerts').id,
      ...extra,
    }));
  }

  /** alice posts images (name → bytes) in a channel. */
  async post(channel: 'general' | 'random' | 'general-thread', files: Array<{ name: string; seed?: number; bytes?: Buffer; size?: number; contentType?: string }>, author: 'alice' | 'otherbot' | 'mod' = 'alice') {
    const attachments = [];
    for (const [i, f] of files.entries()) {
      const bytes = f.bytes ?? (await png(f.seed ?? i + 1));
      attachments.push(
        this.fake.attachment({
          filename: f.name,
          bytes,
          contentType: f.contentType ?? 'image/png',
          ...(f.size !== undefined ? { size: f.size } : {}),
          width: 96,
          height: 64,
        }),
      );
    }
    return this.fake.postMessage({ channelId: this.channel(channel).id, author: this.member(author).user, attachments });
  }

  sentTo(channel: string, via: SentMessage['via'] = 'channel'): SentMessage[] {
    const id = this.fake.channel(channel).id;
    return this.fake.sent.filter((s) => s.via === via && s.channelId === id);
  }

  repliesTo(messageId: string): SentMessage[] {
    return this.fake.sent.filter((s) => s.via === 'channel' && s.body?.message_reference?.message_id === messageId);
  }

  async close(): Promise<void> {
    await this.bot.stop();
    await this.runtime.close(true);
    await this.producer.close();
    await this.#loader.close();
    await deletePrefix(this.redisClient, this.prefix);
    this.redisClient.disconnect();
    await this.fake.stop();
  }
}

export type DiscordHarnessHooks = HarnessHooks<Harness, HarnessOptions>;

/** One Redis server for the test file and one Harness per test (`defaults` under each test's options), closed after it. */
export function useDiscordHarness(defaults: HarnessOptions = {}): DiscordHarnessHooks {
  return useHarness((redis, options: HarnessOptions) => Harness.start(redis, { ...defaults, ...options }));
}
