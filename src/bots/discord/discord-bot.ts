import { once } from 'node:events';
import { Client, Events, GatewayIntentBits, REST, Routes, type ClientOptions, type RESTOptions } from 'discord.js';
import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { Config } from '../../config/load-config.js';
import { GenguardError } from '../../errors/genguard-error.js';
import type { SettingsStore } from '../shared/guild-settings.js';
import type { ScanEnqueuer } from './adapter-deps.js';
import { AlertStore } from './alert-store.js';
import { commandDefinitions } from './commands.js';
import { DiscordNotifier } from './discord-notifier.js';
import { InteractionHandlers } from './interaction-handlers.js';
import { MessageScanner } from './message-scanner.js';

export interface DiscordBotOptions {
  /** Uses config.discord, config.intake.maxBytes and config.queue.prefix. */
  config: Pick<Config, 'discord' | 'intake' | 'queue'> & { env?: Pick<Config['env'], 'LOG_LEVEL'> };
  /** The queue's ScanProducer (or anything with its `enqueue`). */
  producer: ScanEnqueuer;
  settings: SettingsStore;
  /** Redis for alert contexts, dismissals and the audit trail (the settings' connection is fine). */
  redis: Redis;
  /** Merged into the discord.js client options (tests: `rest.globalRequestsPerSecond`, timeouts). */
  clientOptions?: Partial<Omit<ClientOptions, 'rest'>> & { rest?: Partial<RESTOptions> };
  logger?: Logger;
  now?: () => number;
}

/** Close code Discord uses when the application asks for a privileged intent it was not granted. */
const DISALLOWED_INTENTS = 4014;

const BASE_INTENTS = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages];

/**
 * The Discord adapter: a discord.js gateway client that turns messages and interactions into
 * scan jobs, plus the Notifier (`bot.notifier`) that turns outcomes into messages. Never runs a
 * model. Start-up registers the application commands (globally, or in DISCORD_DEV_GUILD_ID),
 * then logs in with Guilds, GuildMessages and MessageContent; when Discord refuses the
 * privileged MessageContent intent (close 4014) it says so and reconnects without it, so
 * `/aicheck` and "Check for AI" keep working while automatic scans are off.
 */
export class DiscordBot {
  readonly notifier: DiscordNotifier;
  readonly alerts: AlertStore;
  /** REST client for command registration and the notifier. */
  readonly rest: REST;
  readonly #o: DiscordBotOptions;
  readonly #logger: Logger;
  readonly #scanner: MessageScanner;
  readonly #handlers: InteractionHandlers;
  #client: Client | undefined;
  #messageContent = true;
  #starting: Promise<void> | undefined;
  #stopped = false;

  constructor(options: DiscordBotOptions) {
    this.#o = options;
    const { config } = options;
    this.#logger = options.logger ?? pino({ name: 'genguard-discord', level: config.env?.LOG_LEVEL ?? 'info' });
    this.rest = new REST({ ...options.clientOptions?.rest, api: config.discord.apiBase });
    if (config.discord.token) this.rest.setToken(config.discord.token);
    this.alerts = new AlertStore({ redis: options.redis, prefix: config.queue.prefix });
    this.notifier = new DiscordNotifier({
      rest: this.rest,
      settings: options.settings,
      alerts: this.alerts,
      logger: this.#logger,
      maxBytes: config.intake.maxBytes,
      ...(options.now ? { now: options.now } : {}),
    });
    const deps = {
      producer: options.producer,
      settings: options.settings,
      alerts: this.alerts,
      logger: this.#logger,
      mediaHosts: config.discord.mediaHosts,
      maxBytes: config.intake.maxBytes,
      now: options.now ?? Date.now,
      messageContent: () => this.#messageContent,
    };
    this.#scanner = new MessageScanner(deps);
    this.#handlers = new InteractionHandlers(deps);
  }

  /** The live discord.js client (after start). */
  get client(): Client | undefined {
    return this.#client;
  }

  /** False when Discord refused the Message Content intent. */
  get messageContent(): boolean {
    return this.#messageContent;
  }

  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    // Destroying a client in the middle of its handshake leaves sockets behind: let it finish.
    await this.#starting?.catch(() => undefined);
    const client = this.#client;
    this.#client = undefined;
    await client?.destroy();
  }

  async #start(): Promise<void> {
    const { token, applicationId, devGuildId } = this.#o.config.discord;
    if (!token) throw new GenguardError('config_invalid', 'DISCORD_TOKEN is not set (developer portal → your app → Bot → Reset Token)');
    if (!applicationId) throw new GenguardError('config_invalid', 'DISCORD_APPLICATION_ID is not set (developer portal → your app → General Information)');
    await this.#registerCommands(applicationId, devGuildId);
    await this.#connect(true);
  }

  async #registerCommands(applicationId: string, devGuildId: string | undefined): Promise<void> {
    const route = devGuildId ? Routes.applicationGuildCommands(applicationId, devGuildId) : Routes.applicationCommands(applicationId);
    try {
      await this.rest.put(route, { body: commandDefinitions() });
    } catch (error) {
      throw new GenguardError('platform_error', `could not register the application commands: ${(error as Error).message}`, { cause: error, retryable: false });
    }
    this.#logger.info({ scope: devGuildId ? `guild ${devGuildId}` : 'global' }, 'application commands registered');
  }

  async #connect(messageContent: boolean): Promise<void> {
    const { clientOptions, config } = this.#o;
    const intents = messageContent ? [...BASE_INTENTS, GatewayIntentBits.MessageContent] : BASE_INTENTS;
    const client = new Client({
      ...clientOptions,
      intents,
      // Belt and braces: every message genguard sends also sets allowed_mentions itself.
      allowedMentions: { parse: [], repliedUser: false },
      rest: { ...clientOptions?.rest, api: config.discord.apiBase },
    });
    this.#client = client;
    this.#messageContent = messageContent;
    let refused = false;
    client.on(Events.ShardDisconnect, (event, shardId) => {
      if (event.code !== DISALLOWED_INTENTS) {
        this.#logger.error({ code: event.code, shardId }, 'Discord closed the gateway connection for good');
        return;
      }
      refused = true;
      // Refused after having been ready (the intent was switched off meanwhile): fall back now.
      if (client.isReady() && messageContent && !this.#stopped) void this.#fallBack(client);
    });
    client.on(Events.MessageCreate, (message) => {
      this.#scanner.onMessage(message).catch((error: unknown) => this.#logger.error({ err: error, messageId: message.id }, 'automatic scan failed'));
    });
    client.on(Events.MessageUpdate, (_old, message) => {
      if (message.partial) return;
      this.#scanner.onMessageUpdate(message).catch((error: unknown) => this.#logger.error({ err: error, messageId: message.id }, 'automatic scan of an edited message failed'));
    });
    client.on(Events.InteractionCreate, (interaction) => void this.#handlers.handle(interaction));
    client.on(Events.Error, (error) => this.#logger.error({ err: error }, 'discord client error'));
    client.on(Events.ShardError, (error, shardId) => this.#logger.warn({ err: error, shardId }, 'gateway connection error'));
    client.on(Events.Warn, (message) => this.#logger.warn({ message }, 'discord.js warning'));
    client.on(Events.ShardResume, (shardId, replayed) => this.#logger.info({ shardId, replayed }, 'gateway session resumed'));

    const ready = once(client, Events.ClientReady);
    // `once` also rejects on an 'error' event; when login fails first nobody awaits it.
    ready.catch(() => undefined);
    try {
      await client.login(config.discord.token);
      await ready;
    } catch (error) {
      await client.destroy().catch(() => undefined);
      if ((refused || /disallowed intents/i.test(String((error as Error)?.message))) && messageContent) {
        this.#warnNoMessageContent();
        return this.#connect(false);
      }
      throw new GenguardError('platform_error', `could not connect to the Discord gateway: ${(error as Error).message}`, { cause: error, retryable: true });
    }
    this.#logger.info({ user: client.user?.tag, guilds: client.guilds.cache.size, messageContent }, 'connected to Discord');
  }

  async #fallBack(client: Client): Promise<void> {
    this.#warnNoMessageContent();
    await client.destroy().catch(() => undefined);
    if (this.#stopped) return;
    this.#starting = this.#connect(false);
    await this.#starting.catch((error: unknown) => this.#logger.error({ err: error }, 'reconnecting without Message Content failed'));
  }

  #warnNoMessageContent(): void {
    this.#logger.error(
      'Discord refused the privileged Message Content intent (close code 4014). Automatic scanning of posted images is OFF; ' +
        '/aicheck and the "Check for AI" message command keep working. To enable it: https://discord.com/developers/applications → ' +
        'your application → Bot → Privileged Gateway Intents → turn on "Message Content Intent" → Save, then restart genguard ' +
        '(bots in 100+ servers need Discord’s approval for it).',
    );
  }
}
