import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { fetch as undiciFetch, type Agent } from 'undici';
import { SlackBot } from '../../src/bots/slack/slack-bot.js';
import type { FetchLike } from '../../src/bots/slack/slack-api.js';
import type { GuildSettings } from '../../src/bots/shared/guild-settings.js';
import { loadConfig, type Config } from '../../src/config/load-config.js';
import { ImageLoader } from '../../src/intake/image-loader.js';
import type { Notifier } from '../../src/queue/notifier.js';
import { ScanProducer } from '../../src/queue/scan-producer.js';
import type { CredentialsResolver } from '../../src/queue/worker-deps.js';
import { WorkerRuntime } from '../../src/queue/worker-runtime.js';
import { NamedScoreBackend, png } from './named-score-backend.js';
import { FakeSlack } from '../fakes/slack/fake-slack.js';
import type { FakeChannel, FakeMessage, FakeTeam, FakeUser } from '../fakes/slack/fake-workspace.js';
import { blockAction, eventCallback, messageShortcut, slashCommand, type TeamRef } from '../fakes/slack/payloads.js';
import { sendToApp, type SendOptions, type SlackBody } from '../fakes/slack/slack-signing.js';
import { testQueueConfig, uniquePrefix, waitFor } from '../queue/helpers/fakes.js';
import { deletePrefix, type TestRedis } from '../queue/helpers/redis-server.js';
import { useHarness, type HarnessHooks } from '../helpers/use-harness.js';

export { png, waitFor };

export interface SlackHarnessOptions {
  transport: 'http' | 'socket';
  /** Multi-workspace (OAuth) mode instead of SLACK_BOT_TOKEN. */
  oauth?: boolean;
  adminToken?: boolean;
  /** Scopes of the first workspace's bot token (drop files:read for the login-page case). */
  botScopes?: string[];
  settings?: Partial<GuildSettings>;
  /** Extra environment for loadConfig (e.g. SLACK_ADMIN_GROUP). */
  env?: Record<string, string>;
}

/**
 * One Slack world for end-to-end tests: the fake Slack, the real SlackBot on Bolt (HTTP or
 * Socket Mode), the real queue (producer + worker runtime, SlackNotifier and credentials) on a
 * real Redis under a fresh prefix, the real ImageLoader, and a fake backend scoring by file name
 * ("ai-93.png" → 0.93).
 */
export class SlackHarness {
  readonly fake = new FakeSlack();
  readonly prefix = uniquePrefix('slack');
  readonly signingSecret = randomBytes(16).toString('hex');
  readonly backend = new NamedScoreBackend();
  readonly logs: Array<Record<string, unknown>> = [];
  readonly logger: Logger;
  readonly agent: Agent = FakeSlack.trustingAgent();
  readonly fetch: FetchLike;
  config!: Config;
  bot!: SlackBot;
  runtime!: WorkerRuntime;
  producer!: ScanProducer;
  redisClient!: Redis;
  team!: FakeTeam;
  botToken!: string;
  adminToken: string | undefined;
  general!: FakeChannel;
  mods!: FakeChannel;
  alice!: FakeUser;
  admin!: FakeUser;
  #loader!: ImageLoader;

  private constructor(
    readonly redis: TestRedis,
    readonly options: SlackHarnessOptions,
  ) {
    const logs = this.logs;
    this.logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    this.fetch = ((url: string, init?: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher: this.agent })) as unknown as FetchLike;
  }

  static async start(redis: TestRedis, options: SlackHarnessOptions): Promise<SlackHarness> {
    const h = new SlackHarness(redis, options);
    await h.fake.start();
    const ws = h.fake.workspaces;
    const first = ws.addTeam(options.botScopes ? { botScopes: options.botScopes } : {});
    h.team = first.team;
    h.botToken = first.botToken;
    h.alice = ws.addUser(h.team.id, { name: 'alice' });
    h.admin = ws.addUser(h.team.id, { name: 'admin', is_admin: true });
    h.general = ws.addChannel(h.team.id, { name: 'general', members: [h.alice.id, h.admin.id] });
    h.mods = ws.addChannel(h.team.id, { name: 'mod-alerts', members: [h.admin.id] });
    if (options.adminToken) h.adminToken = ws.addUserToken(h.team.id, h.admin.id, ['chat:write', 'files:write']);
    const env: Record<string, string | undefined> = {
      SLACK_API_URL: h.fake.apiUrl,
      SLACK_PORT: '0',
      SLACK_ADMIN_USER_TOKEN: h.adminToken,
      SLACK_FILE_HOSTS: new URL(h.fake.baseUrl).host,
      GENGUARD_FETCH_ALLOW_HOSTS: '127.0.0.1,127.0.0.2',
      REDIS_URL: redis.url,
      GENGUARD_QUEUE_PREFIX: h.prefix,
    };
    if (options.oauth) {
      h.fake.oauthClient = { id: 'client-1', secret: 'client-secret' };
      Object.assign(env, { SLACK_CLIENT_ID: 'client-1', SLACK_CLIENT_SECRET: 'client-secret', SLACK_STATE_SECRET: 'state-secret-state-secret' });
    } else {
      env['SLACK_BOT_TOKEN'] = h.botToken;
    }
    if (options.transport === 'socket') env['SLACK_APP_TOKEN'] = ws.addAppToken(h.team.id);
    else env['SLACK_SIGNING_SECRET'] = h.signingSecret;
    h.config = loadConfig({ ...env, ...options.env });
    h.redisClient = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    h.producer = ScanProducer.fromConfig(h.config, { addTimeoutMs: 2_000 });
    h.bot = new SlackBot({
      config: h.config,
      producer: h.producer,
      redis: h.redisClient,
      logger: h.logger.child({ part: 'bot' }),
      fetch: h.fetch,
      retries: 0,
    });
    if (options.settings) {
      const preset = options.settings;
      await h.bot.settings.update('slack', h.team.id, (s) => ({ ...s, ...preset }));
    }
    h.#loader = new ImageLoader({ limits: h.config.intake });
    h.runtime = h.newRuntime(h.bot.notifier, h.bot.credentials);
    await h.runtime.start();
    await h.bot.start();
    if (options.transport === 'socket') await h.fake.socket.waitConnected();
    return h;
  }

  newRuntime(notifier: Notifier, credentials: CredentialsResolver): WorkerRuntime {
    return new WorkerRuntime({
      // No result cache: distinct test images must never share a (perceptual) verdict.
      queue: testQueueConfig(this.redis.url, this.prefix, { cache: { enabled: false, ttlSeconds: 60, phashDistance: 0 } }),
      backends: { get: async () => ({ backend: this.backend, modelSetVersion: 'fake-1' }), close: async () => {} },
      loader: this.#loader,
      credentials,
      notifiers: { slack: notifier },
      defaultAlertThreshold: 0.7,
      logger: this.logger.child({ part: 'worker' }),
    });
  }

  teamRef(team: FakeTeam = this.team): TeamRef {
    return { id: team.id, domain: team.domain, botUserId: team.botUserId };
  }

  get eventsUrl(): string {
    return `http://127.0.0.1:${this.bot.port}/slack/events`;
  }

  /** Delivers a request the way the configured transport does; returns the HTTP answer or the socket ack payload. */
  async deliver(kind: 'event' | 'command' | 'interactive', payload: Record<string, unknown>, signing: SendOptions = {}): Promise<{ status: number; body: unknown }> {
    if (this.options.transport === 'socket') {
      const type = kind === 'event' ? 'events_api' : kind === 'command' ? 'slash_commands' : 'interactive';
      const ack = await this.fake.socket.send(type, payload);
      return { status: 200, body: ack.payload };
    }
    const body: SlackBody =
      kind === 'event' ? { kind: 'json', value: payload } : kind === 'command' ? { kind: 'form', fields: payload as Record<string, string> } : { kind: 'payload', value: payload };
    const answer = await sendToApp(this.eventsUrl, body, { secret: this.signingSecret, ...signing });
    return { status: answer.status, body: answer.json ?? answer.text };
  }

  /** A user shares image files in a channel; the `message` event is delivered. Returns the event. */
  async share(files: Array<{ name: string; seed?: number; bytes?: Buffer; mimetype?: string; redirectElsewhere?: boolean }>, options: { channel?: FakeChannel; user?: FakeUser; team?: FakeTeam; thread_ts?: string } = {}) {
    const team = options.team ?? this.team;
    const fileObjects = [];
    for (const [i, f] of files.entries()) {
      fileObjects.push(this.fake.addFile(team.id, { name: f.name, bytes: f.bytes ?? (await png(f.seed ?? i + 1)), ...(f.mimetype ? { mimetype: f.mimetype } : {}), ...(f.redirectElsewhere ? { redirectElsewhere: true } : {}) }));
    }
    const channel = options.channel ?? this.general;
    const event = this.fake.postUserMessage(team.id, channel.id, (options.user ?? this.alice).id, { files: fileObjects });
    const answer = await this.deliver('event', eventCallback(this.teamRef(team), { ...event, ...(options.thread_ts ? { thread_ts: options.thread_ts } : {}) }));
    return { event, answer, files: fileObjects };
  }

  async command(command: '/aicheck' | '/aiscan', text: string, options: { user?: FakeUser; channel?: FakeChannel } = {}) {
    const responseUrl = this.fake.responseUrl();
    const fields = slashCommand(this.teamRef(), {
      command,
      text,
      channelId: (options.channel ?? this.general).id,
      userId: (options.user ?? this.alice).id,
      responseUrl,
    });
    const answer = await this.deliver('command', fields);
    return { responseUrl, answer };
  }

  async shortcut(message: FakeMessage & { channel?: string }, user: FakeUser = this.alice) {
    const responseUrl = this.fake.responseUrl();
    const payload = messageShortcut(this.teamRef(), {
      callbackId: 'check_for_ai',
      channelId: message.channel ?? this.general.id,
      userId: user.id,
      message: message as unknown as Record<string, unknown>,
      responseUrl,
    });
    const answer = await this.deliver('interactive', payload);
    return { responseUrl, answer };
  }

  /** Clicks a button of an alert message (as stored by the fake) as `user`. */
  async click(alert: FakeMessage, actionId: string, user: FakeUser, forged?: { value: string }) {
    const actions = (alert.blocks ?? []).find((b) => (b as { type: string }).type === 'actions') as { elements: Array<{ action_id: string; value: string }> } | undefined;
    const button = forged ?? actions?.elements.find((e) => e.action_id === actionId);
    if (!button) throw new Error(`alert has no ${actionId} button`);
    const responseUrl = this.fake.responseUrl();
    const payload = blockAction(this.teamRef(), {
      channelId: this.mods.id,
      userId: user.id,
      message: alert as unknown as Record<string, unknown>,
      actionId,
      value: button.value,
      responseUrl,
    });
    const answer = await this.deliver('interactive', payload);
    return { responseUrl, answer };
  }

  /** Bot messages in a channel (thread replies included). */
  botMessages(channel: FakeChannel, threadTs?: string): FakeMessage[] {
    return channel.messages.filter((m) => m.bot_id !== undefined && (threadTs === undefined || m.thread_ts === threadTs));
  }

  waitForBotMessage(channel: FakeChannel, threadTs?: string, count = 1): Promise<FakeMessage[]> {
    return waitFor(() => {
      const found = this.botMessages(channel, threadTs);
      return found.length >= count ? found : undefined;
    }, 15_000, `${count} bot message(s) in ${channel.name}`);
  }

  waitForResponse(responseUrl: string, count = 1): Promise<Array<Record<string, unknown>>> {
    return waitFor(() => {
      const posts = this.fake.postsTo(responseUrl);
      return posts.length >= count ? posts : undefined;
    }, 15_000, `${count} response_url post(s)`);
  }

  /** Log lines at warn level or above (pino: 40+). */
  problems(): Array<Record<string, unknown>> {
    return this.logs.filter((l) => Number(l['level']) >= 40);
  }

  async close(): Promise<void> {
    if (process.env['SLACK_TEST_LOGS']) for (const l of this.problems()) console.log(JSON.stringify(l).slice(0, 600));
    await this.bot.stop().catch(() => undefined);
    await this.runtime.close();
    await this.producer.close();
    await this.#loader.close();
    await this.fake.stop();
    await this.agent.close();
    await deletePrefix(this.redisClient, this.prefix);
    this.redisClient.disconnect();
  }
}

export type SlackHarnessHooks = HarnessHooks<SlackHarness, SlackHarnessOptions>;

/** One Redis server for the test file and one SlackHarness per test (`defaults` under each test's options), closed after it. */
export function useSlackHarness(defaults: SlackHarnessOptions): SlackHarnessHooks {
  return useHarness((redis, options: Partial<SlackHarnessOptions>) => SlackHarness.start(redis, { ...defaults, ...options }));
}

/** All text of a message (fallback text and every text object in its blocks). */
export function messageText(message: { text?: unknown; blocks?: unknown }): string {
  return JSON.stringify([message.text ?? '', message.blocks ?? []]);
}
