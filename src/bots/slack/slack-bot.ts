import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, type AppOptions } from '@slack/bolt';
import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { Config, SlackConfig } from '../../config/load-config.js';
import { GenguardError } from '../../errors/genguard-error.js';
import type { ScanProducer } from '../../queue/scan-producer.js';
import type { CredentialsResolver } from '../../queue/worker-deps.js';
import type { SettingsStore } from '../shared/guild-settings.js';
import { registerAdminHandlers } from './admin-handlers.js';
import { boltLogger } from './bolt-logger.js';
import { RedisInstallationStore, UNENCRYPTED_INSTALLATIONS_WARNING } from './redis-installation-store.js';
import { registerScanHandlers } from './scan-handlers.js';
import { clientOptions, toSlackError, type FetchLike } from './slack-api.js';
import { SlackDismissals } from './slack-dismissals.js';
import { SlackNotifier } from './slack-notifier.js';
import { createSlackSettingsStore } from './slack-settings.js';
import { SlackTokens } from './slack-tokens.js';

/** Bot scopes, requested by the OAuth install and listed in slack/manifest.yml (a test keeps both equal). */
export const BOT_SCOPES = [
  'channels:history',
  'groups:history',
  'files:read',
  'chat:write',
  'reactions:write',
  'commands',
  'users:read',
  'usergroups:read',
] as const;

export interface SlackBotOptions {
  config: Config;
  /** Where scans go (the adapter never runs a model). */
  producer: Pick<ScanProducer, 'enqueue'>;
  /** Settings, installations; with the queue's prefix. */
  redis: Redis;
  /** Default: createSlackSettingsStore(redis, config.queue.prefix). */
  settings?: SettingsStore;
  logger?: Logger;
  /** HTTP client for the Web API and response_url (tests: one trusting the fake's certificate). */
  fetch?: FetchLike;
  /** Web API retries of Bolt's client (default 2; tests pass 0 so a failing fake answers at once). */
  retries?: number;
}

export type SlackSetup =
  | { transport: 'socket'; appToken: string; auth: SlackAuth }
  | { transport: 'http'; signingSecret: string; port: number; auth: SlackAuth };
export type SlackAuth = { kind: 'single'; botToken: string } | { kind: 'oauth'; clientId: string; clientSecret: string; stateSecret: string };

/** Checks the Slack settings make one usable combination and says exactly what is missing if not. */
export function resolveSlackSetup(slack: SlackConfig): SlackSetup {
  const { clientId, clientSecret, stateSecret } = slack.oauth;
  const oauthParts = { SLACK_CLIENT_ID: clientId, SLACK_CLIENT_SECRET: clientSecret, SLACK_STATE_SECRET: stateSecret };
  const given = Object.entries(oauthParts).filter(([, v]) => v !== undefined);
  let auth: SlackAuth;
  if (given.length > 0) {
    const missing = Object.entries(oauthParts).filter(([, v]) => v === undefined).map(([k]) => k);
    if (missing.length > 0) throw new GenguardError('config_invalid', `OAuth (multi-workspace) mode also needs ${missing.join(', ')}`);
    if (slack.botToken !== undefined) {
      throw new GenguardError('config_invalid', 'Set either SLACK_BOT_TOKEN (one workspace) or the SLACK_CLIENT_* OAuth settings (many workspaces), not both');
    }
    auth = { kind: 'oauth', clientId: clientId as string, clientSecret: clientSecret as string, stateSecret: stateSecret as string };
  } else if (slack.botToken !== undefined) {
    auth = { kind: 'single', botToken: slack.botToken };
  } else {
    throw new GenguardError(
      'config_invalid',
      'Slack needs SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET (OAuth, many workspaces)',
    );
  }
  if (slack.socketMode) {
    if (slack.appToken === undefined) throw new GenguardError('config_invalid', 'Socket Mode needs SLACK_APP_TOKEN (xapp-…, scope connections:write)');
    return { transport: 'socket', appToken: slack.appToken, auth };
  }
  if (slack.signingSecret === undefined) {
    throw new GenguardError('config_invalid', 'HTTP mode needs SLACK_SIGNING_SECRET (or set SLACK_APP_TOKEN to use Socket Mode)');
  }
  return { transport: 'http', signingSecret: slack.signingSecret, port: slack.port, auth };
}

/**
 * The Slack adapter: a Bolt app that turns file shares, `/aicheck`, the "Check for AI" shortcut,
 * `/aiscan` and alert buttons into queue jobs and settings changes. Answers are posted by the
 * notify worker through `notifier`; the detect worker downloads private files with `credentials`.
 * Those two also work without a running bot (a separate worker process): see createSlackWorkerParts.
 */
export class SlackBot {
  readonly setup: SlackSetup;
  readonly app: App;
  readonly tokens: SlackTokens;
  readonly settings: SettingsStore;
  readonly notifier: SlackNotifier;
  readonly installations: RedisInstallationStore;
  readonly dismissals: SlackDismissals;
  readonly #logger: Logger;
  #port: number | undefined;
  #started = false;

  constructor(options: SlackBotOptions) {
    const { config } = options;
    this.setup = resolveSlackSetup(config.slack);
    this.#logger = (options.logger ?? pino({ level: config.env.LOG_LEVEL })).child({ platform: 'slack' });
    const parts = createSlackWorkerParts({ ...options, logger: this.#logger });
    this.tokens = parts.tokens;
    this.settings = parts.settings;
    this.notifier = parts.notifier;
    this.installations = parts.installations;
    this.dismissals = parts.dismissals;

    const web = clientOptions({ apiUrl: config.slack.apiUrl, retries: options.retries ?? 2, ...(options.fetch ? { fetch: options.fetch } : {}) });
    const appOptions: AppOptions = {
      logger: boltLogger(this.#logger),
      clientOptions: web,
      convoStore: false,
      // auth.test runs in start(), not in the constructor, so a bad token is a start-up error.
      deferInitialization: true,
    };
    const { auth } = this.setup;
    if (auth.kind === 'single') {
      appOptions.token = auth.botToken;
    } else {
      Object.assign(appOptions, {
        clientId: auth.clientId,
        clientSecret: auth.clientSecret,
        stateSecret: auth.stateSecret,
        scopes: [...BOT_SCOPES],
        installationStore: this.installations,
        installerOptions: {
          directInstall: true,
          ...(this.setup.transport === 'socket' ? { port: config.slack.port } : {}),
        },
      } satisfies Partial<AppOptions>);
    }
    if (this.setup.transport === 'socket') {
      Object.assign(appOptions, { socketMode: true, appToken: this.setup.appToken });
    } else {
      Object.assign(appOptions, { signingSecret: this.setup.signingSecret, port: this.setup.port });
    }
    this.app = new App(appOptions);

    registerScanHandlers(this.app, { producer: options.producer, settings: this.settings, slack: config.slack, logger: this.#logger });
    registerAdminHandlers(this.app, {
      settings: this.settings,
      tokens: this.tokens,
      adminGroup: config.slack.adminGroup,
      dismissals: this.dismissals,
      logger: this.#logger,
    });
    this.app.event('app_uninstalled', async ({ context }) => {
      if (auth.kind !== 'oauth' || context.teamId === undefined) return;
      await this.installations.deleteInstallation({ teamId: context.teamId, enterpriseId: context.enterpriseId, isEnterpriseInstall: false });
      this.#logger.info({ teamId: context.teamId }, 'genguard was uninstalled from a Slack workspace');
    });
    this.app.error(async (error) => {
      if (error.code === 'slack_bolt_authorization_error') {
        const undecryptable = undecryptableInstallation(error);
        if (undecryptable) {
          this.#logger.error({ err: undecryptable.message }, 'a Slack installation cannot be decrypted; requests from that workspace are refused');
          return;
        }
        // A workspace without an installation (OAuth mode) or a revoked token: Bolt acked, nothing ran.
        this.#logger.warn({ err: error.message }, 'request from a Slack workspace genguard is not installed in (or whose token was revoked)');
        return;
      }
      this.#logger.error({ err: error }, 'unhandled error in a Slack handler');
    });
  }

  /** The worker's CredentialsResolver for Slack files. */
  get credentials(): CredentialsResolver {
    return this.tokens.resolveCredentials;
  }

  /** HTTP mode: the port the receiver listens on (SLACK_PORT, or the one picked for port 0). */
  get port(): number | undefined {
    return this.#port;
  }

  async start(): Promise<void> {
    try {
      await this.app.init();
    } catch (error) {
      throw new GenguardError('config_invalid', `Slack refused the bot token: ${(error as Error).message}`, { cause: error });
    }
    try {
      if (this.setup.transport === 'socket') {
        await this.app.start();
      } else {
        const server = (await this.app.start(this.setup.port)) as Server;
        this.#port = (server.address() as AddressInfo).port;
      }
    } catch (error) {
      const wrapped = toSlackError(error, this.setup.transport === 'socket' ? 'opening the Socket Mode connection' : `listening on port ${this.setup.port}`);
      throw wrapped.code === 'auth_failed' ? new GenguardError('config_invalid', `${wrapped.message} (check SLACK_APP_TOKEN)`, { cause: error }) : wrapped;
    }
    this.#started = true;
    if (this.setup.auth.kind === 'oauth' && !this.installations.encrypted) this.#logger.warn(UNENCRYPTED_INSTALLATIONS_WARNING);
    this.#logger.info(
      { transport: this.setup.transport, auth: this.setup.auth.kind, port: this.#port },
      'genguard Slack bot started',
    );
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    await this.app.stop();
  }
}

/** Our decryption error inside Bolt's AuthorizationError (which wraps the store's throw, once per layer). */
function undecryptableInstallation(error: unknown): GenguardError | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = (e as { original?: unknown }).original, depth++) {
    if (e instanceof GenguardError && e.details?.['reason'] === 'installation_undecryptable') return e;
  }
  return undefined;
}

export interface SlackWorkerPartsOptions {
  config: Config;
  redis: Redis;
  settings?: SettingsStore;
  logger?: Logger;
  fetch?: FetchLike;
}

/**
 * What a worker process needs for Slack jobs, without Bolt: the Notifier (platform `slack`) and
 * the CredentialsResolver (bot token per team, from SLACK_BOT_TOKEN or the installation store).
 */
export function createSlackWorkerParts(options: SlackWorkerPartsOptions): {
  tokens: SlackTokens;
  settings: SettingsStore;
  notifier: SlackNotifier;
  installations: RedisInstallationStore;
  dismissals: SlackDismissals;
  credentials: CredentialsResolver;
} {
  const { config } = options;
  const installations = new RedisInstallationStore({ redis: options.redis, prefix: config.queue.prefix, encryptionKey: config.encryptionKey });
  const fetchOption = options.fetch ? { fetch: options.fetch } : {};
  const oauth = config.slack.botToken === undefined;
  const tokens = new SlackTokens({
    botToken: config.slack.botToken,
    installations: oauth ? installations : undefined,
    adminUserToken: config.slack.adminUserToken,
    clientOptions: clientOptions({ apiUrl: config.slack.apiUrl, retries: 0, ...fetchOption }),
  });
  const settings = options.settings ?? createSlackSettingsStore(options.redis, config.queue.prefix);
  const dismissals = new SlackDismissals(options.redis, config.queue.prefix);
  const notifier = new SlackNotifier({
    tokens,
    settings,
    dismissals,
    client: { apiUrl: config.slack.apiUrl, ...fetchOption },
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return { tokens, settings, notifier, installations, dismissals, credentials: tokens.resolveCredentials };
}
