import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeGateway } from './fake-gateway.js';
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
  message: Json & { id: string };
}

export interface FakeInteraction {
  id: string;
  token: string;
  payload: Json;
  callbacks: Array<{ type: number; data: any }>;
  original: (Json & { id: string }) | undefined;
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
    this.#routes();
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
    this.gateway.dispatch('MESSAGE_CREATE', dispatched);
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
    this.gateway.dispatch('INTERACTION_CREATE', payload);
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

  #botMessage(channelId: string, body: any, extra: Partial<MessageInit> = {}): Json & { id: string; channel_id: string } {
    const init: MessageInit = {
      channelId,
      author: this.bot,
      content: body?.content ?? '',
      embeds: body?.embeds ?? [],
      components: body?.components ?? [],
      flags: body?.flags ?? 0,
      ...extra,
    };
    if (body?.message_reference) init.messageReference = { ...body.message_reference, channel_id: channelId };
    const guild = this.guilds.find((g) => g.channels.some((c) => c.id === channelId));
    if (guild) init.guildId = guild.id;
    const message = messagePayload(init) as Json & { id: string; channel_id: string };
    this.messages.set(message.id, message);
    return message;
  }

  #routes(): void {
    const r = this.#router;
    r.on('GET', '/gateway/bot', () => ({
      status: 200,
      body: {
        url: this.wsUrl,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
      },
    }));
    r.on('GET', '/gateway', () => ({ status: 200, body: { url: this.wsUrl } }));
    r.on('GET', '/users/@me', () => ({ status: 200, body: userPayload(this.bot) }));
    r.on('GET', '/applications/@me', () => ({ status: 200, body: { id: this.applicationId, name: 'genguard', flags: 0 } }));

    const saveCommands = (req: RestRequest): Json[] =>
      (req.body as Json[]).map((c) => ({ ...c, id: snowflake(), application_id: req.params.app, version: snowflake() }));
    r.on('PUT', '/applications/:app/commands', (req) => {
      if (req.params.app !== this.applicationId) return notFound(10002, 'Unknown Application');
      this.commands.global = saveCommands(req);
      return { status: 200, body: this.commands.global };
    });
    r.on('PUT', '/applications/:app/guilds/:guild/commands', (req) => {
      if (req.params.app !== this.applicationId) return notFound(10002, 'Unknown Application');
      this.commands.guild[req.params.guild!] = saveCommands(req);
      return { status: 200, body: this.commands.guild[req.params.guild!] };
    });

    r.on('GET', '/channels/:ch', (req) => {
      for (const g of this.guilds) {
        const c = g.channels.find((x) => x.id === req.params.ch);
        if (c) return { status: 200, body: { id: c.id, type: c.type ?? 0, name: c.name, guild_id: g.id, parent_id: c.parentId ?? null } };
      }
      return notFound(10003, 'Unknown Channel');
    });
    r.on('POST', '/channels/:ch/messages', (req) => {
      const message = this.#botMessage(req.params.ch!, req.body);
      this.sent.push({ via: this.#isDm(req.params.ch!) ? 'dm' : 'channel', channelId: req.params.ch!, body: req.body, message });
      return { status: 200, body: message };
    });
    r.on('GET', '/channels/:ch/messages/:id', (req) => {
      const m = this.messages.get(req.params.id!);
      if (!m || m.channel_id !== req.params.ch || this.deleted.some((d) => d.messageId === m.id)) return notFound(10008, 'Unknown Message');
      return { status: 200, body: m };
    });
    r.on('PATCH', '/channels/:ch/messages/:id', (req) => {
      const m = this.messages.get(req.params.id!);
      if (!m) return notFound(10008, 'Unknown Message');
      Object.assign(m, pickMessageFields(req.body), { edited_timestamp: new Date().toISOString() });
      this.edited.push({ channelId: req.params.ch!, messageId: m.id, body: req.body });
      return { status: 200, body: m };
    });
    r.on('DELETE', '/channels/:ch/messages/:id', (req) => {
      const m = this.messages.get(req.params.id!);
      if (!m || this.deleted.some((d) => d.messageId === m.id)) return notFound(10008, 'Unknown Message');
      this.deleted.push({ channelId: req.params.ch!, messageId: m.id });
      return { status: 204 };
    });
    r.on('PUT', '/channels/:ch/messages/:id/reactions/:emoji/@me', (req) => {
      if (!this.messages.has(req.params.id!)) return notFound(10008, 'Unknown Message');
      this.reactions.push({ channelId: req.params.ch!, messageId: req.params.id!, emoji: req.params.emoji! });
      return { status: 204 };
    });
    r.on('POST', '/users/@me/channels', (req) => ({
      status: 200,
      body: { id: `dm${req.body.recipient_id}`, type: 1, recipients: [{ id: req.body.recipient_id, username: 'someone', discriminator: '0' }] },
    }));

    r.on('POST', '/interactions/:id/:token/callback', (req) => this.#callback(req));
    r.on('GET', '/webhooks/:app/:token/messages/:mid', (req) => {
      const i = this.#interactionFor(req);
      if ('status' in i) return i;
      const m = req.params.mid === '@original' ? i.original : this.messages.get(req.params.mid!);
      return m ? { status: 200, body: m } : notFound(10008, 'Unknown Message');
    });
    r.on('PATCH', '/webhooks/:app/:token/messages/:mid', (req) => {
      const i = this.#interactionFor(req);
      if ('status' in i) return i;
      const target = req.params.mid === '@original' ? i.original : this.messages.get(req.params.mid!);
      if (!target) return notFound(10008, 'Unknown Message');
      Object.assign(target, pickMessageFields(req.body), { edited_timestamp: new Date().toISOString() });
      target.flags = ((target.flags as number) ?? 0) & ~128; // an edit ends "thinking…"
      if (req.params.mid === '@original') i.edits.push(req.body);
      this.sent.push({ via: 'original', interactionToken: i.token, body: req.body, message: target });
      return { status: 200, body: target };
    });
    r.on('POST', '/webhooks/:app/:token', (req) => {
      const i = this.#interactionFor(req);
      if ('status' in i) return i;
      const message = this.#botMessage(i.payload.channel_id as string, req.body, { webhookId: this.applicationId, applicationId: this.applicationId });
      i.followUps.push(req.body);
      this.sent.push({ via: 'followup', interactionToken: i.token, body: req.body, message });
      return { status: 200, body: message };
    });
  }

  #isDm(channelId: string): boolean {
    return channelId.startsWith('dm');
  }

  #interactionFor(req: RestRequest): FakeInteraction | RestReply {
    const i = this.interactions.get(req.params.token!);
    if (!i || req.params.app !== this.applicationId) return notFound(10015, 'Unknown Webhook');
    // Discord answers a stale interaction token with 401 50027; safe here because webhook requests
    // are sent without the bot token (auth: false), so the REST client keeps its token.
    if (i.expired) return { status: 401, body: { message: 'Invalid Webhook Token', code: 50027 } };
    return i;
  }

  #callback(req: RestRequest): RestReply {
    const i = this.interactions.get(req.params.token!);
    if (!i || i.id !== req.params.id) return notFound(10062, 'Unknown interaction');
    if (i.expired) return notFound(10062, 'Unknown interaction');
    if (i.callbacks.length > 0) return { status: 400, body: { message: 'Interaction has already been acknowledged.', code: 40060 } };
    const { type, data } = req.body as { type: number; data?: any };
    i.callbacks.push({ type, data });
    const channelId = i.payload.channel_id as string;
    let message: (Json & { id: string; channel_id: string }) | undefined;
    if (type === 4 || type === 5) {
      // 4: reply now; 5: "thinking…", edited later through @original.
      message = this.#botMessage(channelId, type === 4 ? data : { flags: data?.flags ?? 0 }, {
        webhookId: this.applicationId,
        applicationId: this.applicationId,
        interactionMetadata: { id: i.id, type: 2, user: (i.payload.member as Json).user },
      });
      if (type === 5) message.flags = ((data?.flags as number) ?? 0) | 128; // LOADING
      i.original = message;
      this.sent.push({ via: 'callback', interactionToken: i.token, body: req.body, message });
    } else if (type === 7 || type === 6) {
      // 7: update the message the component is on; 6: acknowledge, edit later.
      const source = i.payload.message as Json & { id: string } | undefined;
      const stored = source ? this.messages.get(source.id) : undefined;
      if (stored && type === 7) {
        Object.assign(stored, pickMessageFields(data));
        this.edited.push({ channelId: stored.channel_id, messageId: stored.id, body: data });
      }
      if (stored) i.original = stored;
      message = stored;
      this.sent.push({ via: 'callback', interactionToken: i.token, body: req.body, message: (stored ?? {}) as Json & { id: string } });
    }
    if (req.query.get('with_response') === 'true') {
      return {
        status: 200,
        body: {
          interaction: {
            id: i.id,
            type: i.payload.type,
            activity_instance_id: null,
            response_message_id: message?.id ?? null,
            response_message_loading: type === 5,
            response_message_ephemeral: ((data?.flags ?? 0) & 64) !== 0,
          },
          resource: message ? { type, message } : { type },
        },
      };
    }
    return { status: 204 };
  }
}

function pickMessageFields(body: any): Json {
  const out: Json = {};
  for (const key of ['content', 'embeds', 'components', 'flags', 'attachments']) {
    if (body && key in body) out[key] = body[key];
  }
  if (out.flags !== undefined) out.flags = (out.flags as number) & ~128;
  return out;
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
