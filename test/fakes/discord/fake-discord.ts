import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeGateway } from './fake-gateway.js';
import { installRoutes } from './fake-routes.js';
import { notFound, readBody, RestRouter, sendJson, type RestReply, type RestRequest } from './fake-rest.js';
import {
  guildCreatePayload,
  interactionPayload,
  messagePayload,
  userPayload,
  type FakeAttachment,
  type FakeChannel,
  type FakeGuild,
  type FakeMember,
  type FakeUser,
  type Json,
  type MessageInit,
} from './payloads.js';
import { snowflake } from './snowflake.js';

/**
 * A fake Discord on 127.0.0.1 for end-to-end tests of the real discord.js client: one HTTP
 * server with the REST routes the bot uses under /api/v10, a CDN under /cdn, and the gateway
 * WebSocket on the same port. Everything the bot sends is recorded for assertions.
 */

export const MESSAGE_CONTENT_INTENT = 1 << 15;

export interface FakeDiscordOptions {
  token?: string;
  applicationId?: string;
  bot?: FakeUser;
  guilds: FakeGuild[];
  /** Privileged intents not enabled in the "developer portal" (IDENTIFY asking for them gets 4014). */
  refusedIntents?: number;
  heartbeatInterval?: number;
}

/** One message the bot sent, by whichever route. */
export interface SentMessage {
  via: 'channel' | 'callback' | 'original' | 'followup' | 'dm';
  channelId?: string;
  interactionToken?: string;
  body: any;
  message: Json & { id: string; channel_id: string };
}

export interface FakeInteraction {
  id: string;
  token: string;
  payload: Json;
  callbacks: Array<{ type: number; data: any }>;
  original: (Json & { id: string; channel_id: string }) | undefined;
  edits: any[];
  followUps: any[];
  expired: boolean;
}

interface Injected {
  method: string;
  path: RegExp;
  reply: RestReply;
  remaining: number;
}

export class FakeDiscord extends EventEmitter {
  readonly token: string;
  readonly applicationId: string;
  readonly bot: FakeUser;
  readonly guilds: FakeGuild[];
  refusedIntents: number;
  readonly gateway: FakeGateway;

  /** Every REST request, in order (method, decoded path, status). */
  readonly requests: Array<{ method: string; path: string; status: number; body: any; query: string }> = [];
  readonly sent: SentMessage[] = [];
  readonly edited: Array<{ channelId: string; messageId: string; body: any }> = [];
  readonly deleted: Array<{ channelId: string; messageId: string }> = [];
  readonly reactions: Array<{ channelId: string; messageId: string; emoji: string }> = [];
  readonly interactions = new Map<string, FakeInteraction>();
  readonly commands: { global: Json[] | undefined; guild: Record<string, Json[]> } = { global: undefined, guild: {} };
  /** Messages by id: those users posted and those the bot sent. */
  readonly messages = new Map<string, Json & { id: string; channel_id: string }>();

  readonly #cdn = new Map<string, { bytes: Buffer; contentType: string }>();
  readonly #injected: Injected[] = [];
  readonly #router = new RestRouter();
  #server: Server | undefined;
  #port = 0;

  constructor(options: FakeDiscordOptions) {
    super();
    this.setMaxListeners(100);
    this.token = options.token ?? 'fake-bot-token';
    this.applicationId = options.applicationId ?? snowflake();
    this.bot = options.bot ?? { id: this.applicationId, username: 'genguard', bot: true };
    this.guilds = options.guilds;
    this.refusedIntents = options.refusedIntents ?? 0;
    this.gateway = new FakeGateway(
      {
        token: () => this.token,
        refusedIntents: () => this.refusedIntents,
        ready: () => ({
          v: 10,
          user: { ...userPayload(this.bot), verified: true, mfa_enabled: false, flags: 0 },
          user_settings: {},
          guilds: this.guilds.map((g) => ({ id: g.id, unavailable: true })),
          private_channels: [],
          relationships: [],
          presences: [],
          guild_join_requests: [],
          geo_ordered_rtc_regions: [],
          resume_gateway_url: this.wsUrl,
          application: { id: this.applicationId, flags: 1 << 19 },
        }),
        afterReady: () => this.guilds.map((g) => ({ t: 'GUILD_CREATE', d: guildCreatePayload(g, this.bot) })),
      },
      options.heartbeatInterval === undefined ? {} : { heartbeatInterval: options.heartbeatInterval },
    );
    this.gateway.on('identified', () => this.#changed());
    this.gateway.on('resumed', () => this.#changed());
    installRoutes(this.#router, this);
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.#handle(req, res));
    this.gateway.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await this.gateway.close();
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get origin(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** What the bot gets as `rest.api` / DISCORD_API_BASE. */
  get apiBase(): string {
    return `${this.origin}/api`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.#port}`;
  }

  // ---------------------------------------------------------------- world helpers

  guild(id?: string): FakeGuild {
    const g = id === undefined ? this.guilds[0] : this.guilds.find((x) => x.id === id);
    if (!g) throw new Error(`no guild ${id}`);
    return g;
  }

  channel(name: string, guild = this.guild()): FakeChannel {
    const c = guild.channels.find((x) => x.name === name || x.id === name);
    if (!c) throw new Error(`no channel ${name}`);
    return c;
  }

  member(username: string, guild = this.guild()): FakeMember {
    const m = guild.members.find((x) => x.user.username === username);
    if (!m) throw new Error(`no member ${username}`);
    return m;
  }

  /** Serves bytes from the fake CDN and describes them as a Discord attachment. */
  attachment(init: { filename: string; bytes: Buffer; contentType?: string; size?: number; width?: number; height?: number }): FakeAttachment {
    const id = snowflake();
    const path = `/cdn/attachments/${id}/${encodeURIComponent(init.filename)}`;
    this.#cdn.set(path, { bytes: init.bytes, contentType: init.contentType ?? 'application/octet-stream' });
    const a: FakeAttachment = {
      id,
      filename: init.filename,
      size: init.size ?? init.bytes.length,
      url: `${this.origin}${path}?ex=67890abc&is=12345def&hm=${'0'.repeat(16)}&`,
      proxy_url: `${this.origin}${path}`,
    };
    if (init.contentType !== undefined) a.content_type = init.contentType;
    if (init.width !== undefined) a.width = init.width;
    if (init.height !== undefined) a.height = init.height;
    return a;
  }

  /** A user posts a message: stored, then dispatched as MESSAGE_CREATE. */
  postMessage(init: Omit<MessageInit, 'guildId'> & { guildId?: string }): Json & { id: string; channel_id: string } {
    const guildId = init.guildId ?? this.guild().id;
    const member = init.member ?? this.guild(guildId).members.find((m) => m.user.id === init.author.id);
    const message = messagePayload({ ...init, guildId, ...(member ? { member } : {}) }) as Json & { id: string; channel_id: string };
    this.messages.set(message.id, message);
    // Without the MESSAGE_CONTENT intent Discord blanks these fields for messages not mentioning the bot.
    const withoutContent = ((this.gateway.intents ?? 0) & MESSAGE_CONTENT_INTENT) === 0;
    const dispatched = withoutContent ? { ...message, content: '', attachments: [], embeds: [], components: [] } : message;
    if (this.gateway.sessionId !== undefined) this.gateway.dispatch('MESSAGE_CREATE', dispatched);
    return message;
  }

  /** Discord edits a message (a link preview arriving, a user edit): MESSAGE_UPDATE with the full message. */
  updateMessage(id: string, patch: Json): Json & { id: string; channel_id: string } {
    const message = this.messages.get(id);
    if (!message) throw new Error(`no message ${id}`);
    Object.assign(message, patch);
    if (this.gateway.sessionId !== undefined) this.gateway.dispatch('MESSAGE_UPDATE', message);
    return message;
  }

  /** Dispatches an INTERACTION_CREATE and tracks its token. */
  interact(init: { type: number; data: Json; member: FakeMember; channel: FakeChannel; message?: Json; guild?: FakeGuild }): FakeInteraction {
    const payload = interactionPayload({
      applicationId: this.applicationId,
      guild: init.guild ?? this.guild(),
      channel: init.channel,
      member: init.member,
      type: init.type,
      data: init.data,
      ...(init.message ? { message: init.message } : {}),
    });
    const interaction: FakeInteraction = {
      id: payload.id,
      token: payload.token,
      payload,
      callbacks: [],
      original: undefined,
      edits: [],
      followUps: [],
      expired: false,
    };
    this.interactions.set(payload.token, interaction);
    // Without a gateway session (REST-only tests) the interaction is only registered.
    if (this.gateway.sessionId !== undefined) this.gateway.dispatch('INTERACTION_CREATE', payload);
    return interaction;
  }

  /** `/name` with options; `resolved` carries attachments/channels as Discord sends them. */
  slashCommand(init: { name: string; options?: Json[]; resolved?: Json; member: FakeMember; channel: FakeChannel }): FakeInteraction {
    const registered = [...(this.commands.global ?? []), ...Object.values(this.commands.guild).flat()].find(
      (c) => c.name === init.name && c.type === 1,
    );
    const data: Json = { id: (registered?.id as string) ?? snowflake(), name: init.name, type: 1, options: init.options ?? [] };
    if (init.resolved) data.resolved = init.resolved;
    return this.interact({ type: 2, data, member: init.member, channel: init.channel });
  }

  messageCommand(init: { name: string; target: Json & { id: string }; member: FakeMember; channel: FakeChannel }): FakeInteraction {
    const data: Json = {
      id: snowflake(),
      name: init.name,
      type: 3,
      target_id: init.target.id,
      resolved: { messages: { [init.target.id]: init.target } },
    };
    return this.interact({ type: 2, data, member: init.member, channel: init.channel });
  }

  clickButton(init: { message: Json & { id: string; channel_id: string }; customId: string; member: FakeMember }): FakeInteraction {
    const channel = this.channel(init.message.channel_id);
    return this.interact({
      type: 3,
      data: { custom_id: init.customId, component_type: 2 },
      member: init.member,
      channel,
      message: this.messages.get(init.message.id) ?? init.message,
    });
  }

  /** Makes an interaction token stale, as Discord does after 15 minutes. */
  expireInteraction(token: string): void {
    const i = this.interactions.get(token);
    if (i) i.expired = true;
  }

  /** The next `times` requests matching method and path get `reply` instead of being served. */
  failNext(method: string, path: RegExp, reply: RestReply, times = 1): void {
    this.#injected.push({ method, path, reply, remaining: times });
  }

  /** A 429 with the body and headers Discord sends for a per-route limit. */
  rateLimitNext(method: string, path: RegExp, retryAfterSeconds = 1, times = 1): void {
    this.failNext(
      method,
      path,
      {
        status: 429,
        body: { message: 'You are being rate limited.', retry_after: retryAfterSeconds, global: false },
        headers: {
          'Retry-After': String(Math.ceil(retryAfterSeconds)),
          'X-RateLimit-Limit': '5',
          'X-RateLimit-Remaining': '0',
          'X-RateLimit-Reset': String(Date.now() / 1000 + retryAfterSeconds),
          'X-RateLimit-Reset-After': String(retryAfterSeconds),
          'X-RateLimit-Bucket': 'fakebucket0001',
          'X-RateLimit-Scope': 'user',
        },
      },
      times,
    );
  }

  /** Resolves once `probe` returns something other than undefined/false; re-checked on every change. */
  async waitFor<T>(probe: () => T | undefined | false, what = 'condition', timeoutMs = 10_000): Promise<T> {
    const first = probe();
    if (first !== undefined && first !== false) return first;
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const value = probe();
        if (value === undefined || value === false) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const poll = setInterval(check, 50);
      const cleanup = (): void => {
        clearTimeout(timer);
        clearInterval(poll);
        this.off('change', check);
      };
      this.on('change', check);
    });
  }

  #changed(): void {
    this.emit('change');
  }

  // ---------------------------------------------------------------- HTTP

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    if (req.method === 'GET' && url.pathname.startsWith('/cdn/')) {
      const file = this.#cdn.get(url.pathname);
      if (!file) return sendJson(res, notFound());
      res.writeHead(200, { 'content-type': file.contentType, 'content-length': String(file.bytes.length) });
      res.end(file.bytes);
      return;
    }
    const prefix = '/api/v10';
    if (!url.pathname.startsWith(prefix)) return sendJson(res, notFound());
    const rawPath = url.pathname.slice(prefix.length);
    const path = rawPath
      .split('/')
      .map((s) => safeDecode(s))
      .join('/');
    const { json } = await readBody(req);
    const method = req.method ?? 'GET';
    const record = { method, path, status: 0, body: json, query: url.search };
    this.requests.push(record);

    const injected = this.#injected.find((i) => i.method === method && i.path.test(path) && i.remaining > 0);
    let reply: RestReply;
    if (injected) {
      injected.remaining -= 1;
      reply = injected.reply;
    } else {
      const route = this.#router.match(method, path);
      if (!route) {
        reply = notFound();
      } else if (!this.#authorised(path, req.headers.authorization)) {
        reply = { status: 401, body: { message: '401: Unauthorized', code: 0 } };
      } else {
        const request: RestRequest = { method, path, rawPath, query: url.searchParams, headers: req.headers, body: json, params: route.params };
        try {
          reply = await route.handler(request);
        } catch (error) {
          reply = { status: 500, body: { message: String(error), code: 0 } };
        }
      }
    }
    record.status = reply.status;
    reply.headers = { ...rateLimitHeaders(), ...reply.headers };
    sendJson(res, reply);
    this.#changed();
  }

  /** Interaction callbacks and webhook-token routes are authorised by their token, not the bot's. */
  #authorised(path: string, header: string | undefined): boolean {
    if (path.startsWith('/interactions/') || path.startsWith('/webhooks/')) return true;
    return header === `Bot ${this.token}`;
  }
}

function rateLimitHeaders(): Record<string, string> {
  return {
    'X-RateLimit-Limit': '50',
    'X-RateLimit-Remaining': '49',
    'X-RateLimit-Reset': String(Date.now() / 1000 + 1),
    'X-RateLimit-Reset-After': '1.000',
    'X-RateLimit-Bucket': 'fakebucket0000',
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
