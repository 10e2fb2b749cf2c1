import { messagePayload, userPayload, type Json, type MessageInit } from './payloads.js';
import { notFound, type RestReply, type RestRequest, type RestRouter } from './fake-rest.js';
import type { FakeDiscord, FakeInteraction } from './fake-discord.js';
import { snowflake } from './snowflake.js';

/**
 * The REST routes of the fake Discord (below /api/v10): what the bot and discord.js call, with
 * Discord's status codes and JSON error codes. State lives on the FakeDiscord.
 */

export function installRoutes(r: RestRouter, d: FakeDiscord): void {
  r.on('GET', '/gateway/bot', () => ({
    status: 200,
    body: {
      url: d.wsUrl,
      shards: 1,
      session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
    },
  }));
  r.on('GET', '/gateway', () => ({ status: 200, body: { url: d.wsUrl } }));
  r.on('GET', '/users/@me', () => ({ status: 200, body: userPayload(d.bot) }));
  r.on('GET', '/applications/@me', () => ({ status: 200, body: { id: d.applicationId, name: 'genguard', flags: 0 } }));

  const saveCommands = (req: RestRequest): Json[] =>
    (req.body as Json[]).map((c) => ({ ...c, id: snowflake(), application_id: req.params.app, version: snowflake() }));
  r.on('PUT', '/applications/:app/commands', (req) => {
    if (req.params.app !== d.applicationId) return notFound(10002, 'Unknown Application');
    d.commands.global = saveCommands(req);
    return { status: 200, body: d.commands.global };
  });
  r.on('PUT', '/applications/:app/guilds/:guild/commands', (req) => {
    if (req.params.app !== d.applicationId) return notFound(10002, 'Unknown Application');
    d.commands.guild[req.params.guild!] = saveCommands(req);
    return { status: 200, body: d.commands.guild[req.params.guild!] };
  });

  r.on('GET', '/channels/:ch', (req) => {
    for (const g of d.guilds) {
      const c = g.channels.find((x) => x.id === req.params.ch);
      if (c) return { status: 200, body: { id: c.id, type: c.type ?? 0, name: c.name, guild_id: g.id, parent_id: c.parentId ?? null } };
    }
    return notFound(10003, 'Unknown Channel');
  });
  r.on('POST', '/channels/:ch/messages', (req) => {
    const message = botMessage(d, req.params.ch!, req.body);
    d.sent.push({ via: isDm(req.params.ch!) ? 'dm' : 'channel', channelId: req.params.ch!, body: req.body, message });
    return { status: 200, body: message };
  });
  r.on('GET', '/channels/:ch/messages/:id', (req) => {
    const m = d.messages.get(req.params.id!);
    if (!m || m.channel_id !== req.params.ch || d.deleted.some((d) => d.messageId === m.id)) return notFound(10008, 'Unknown Message');
    return { status: 200, body: m };
  });
  r.on('PATCH', '/channels/:ch/messages/:id', (req) => {
    const m = d.messages.get(req.params.id!);
    if (!m) return notFound(10008, 'Unknown Message');
    Object.assign(m, pickMessageFields(req.body), { edited_timestamp: new Date().toISOString() });
    d.edited.push({ channelId: req.params.ch!, messageId: m.id, body: req.body });
    return { status: 200, body: m };
  });
  r.on('DELETE', '/channels/:ch/messages/:id', (req) => {
    const m = d.messages.get(req.params.id!);
    if (!m || d.deleted.some((d) => d.messageId === m.id)) return notFound(10008, 'Unknown Message');
    d.deleted.push({ channelId: req.params.ch!, messageId: m.id });
    return { status: 204 };
  });
  r.on('PUT', '/channels/:ch/messages/:id/reactions/:emoji/@me', (req) => {
    if (!d.messages.has(req.params.id!)) return notFound(10008, 'Unknown Message');
    d.reactions.push({ channelId: req.params.ch!, messageId: req.params.id!, emoji: req.params.emoji! });
    return { status: 204 };
  });
  r.on('POST', '/users/@me/channels', (req) => ({
    status: 200,
    body: { id: `dm${req.body.recipient_id}`, type: 1, recipients: [{ id: req.body.recipient_id, username: 'someone', discriminator: '0' }] },
  }));

  r.on('POST', '/interactions/:id/:token/callback', (req) => callback(d, req));
  r.on('GET', '/webhooks/:app/:token/messages/:mid', (req) => {
    const i = interactionFor(d, req);
    if ('status' in i) return i;
    const m = req.params.mid === '@original' ? i.original : d.messages.get(req.params.mid!);
    return m ? { status: 200, body: m } : notFound(10008, 'Unknown Message');
  });
  r.on('PATCH', '/webhooks/:app/:token/messages/:mid', (req) => {
    const i = interactionFor(d, req);
    if ('status' in i) return i;
    const target = req.params.mid === '@original' ? i.original : d.messages.get(req.params.mid!);
    if (!target) return notFound(10008, 'Unknown Message');
    Object.assign(target, pickMessageFields(req.body), { edited_timestamp: new Date().toISOString() });
    target.flags = ((target.flags as number) ?? 0) & ~128; // an edit ends "thinking…"
    if (req.params.mid === '@original') i.edits.push(req.body);
    d.sent.push({ via: 'original', interactionToken: i.token, body: req.body, message: target });
    return { status: 200, body: target };
  });
  r.on('POST', '/webhooks/:app/:token', (req) => {
    const i = interactionFor(d, req);
    if ('status' in i) return i;
    const message = botMessage(d, i.payload.channel_id as string, req.body, { webhookId: d.applicationId, applicationId: d.applicationId });
    i.followUps.push(req.body);
    d.sent.push({ via: 'followup', interactionToken: i.token, body: req.body, message });
    return { status: 200, body: message };
  });
}

export function botMessage(d: FakeDiscord, channelId: string, body: any, extra: Partial<MessageInit> = {}): Json & { id: string; channel_id: string } {
  const init: MessageInit = {
    channelId,
    author: d.bot,
    content: body?.content ?? '',
    embeds: body?.embeds ?? [],
    components: body?.components ?? [],
    flags: body?.flags ?? 0,
    ...extra,
  };
  if (body?.message_reference) init.messageReference = { ...body.message_reference, channel_id: channelId };
  const guild = d.guilds.find((g) => g.channels.some((c) => c.id === channelId));
  if (guild) init.guildId = guild.id;
  const message = messagePayload(init) as Json & { id: string; channel_id: string };
  d.messages.set(message.id, message);
  return message;
}

function isDm(channelId: string): boolean {
  return channelId.startsWith('dm');
}

function interactionFor(d: FakeDiscord, req: RestRequest): FakeInteraction | RestReply {
  const i = d.interactions.get(req.params.token!);
  if (!i || req.params.app !== d.applicationId) return notFound(10015, 'Unknown Webhook');
  // Discord answers a stale interaction token with 401 50027; safe here because webhook requests
  // are sent without the bot token (auth: false), so the REST client keeps its token.
  if (i.expired) return { status: 401, body: { message: 'Invalid Webhook Token', code: 50027 } };
  return i;
}

function callback(d: FakeDiscord, req: RestRequest): RestReply {
  const i = d.interactions.get(req.params.token!);
  if (!i || i.id !== req.params.id) return notFound(10062, 'Unknown interaction');
  if (i.expired) return notFound(10062, 'Unknown interaction');
  if (i.callbacks.length > 0) return { status: 400, body: { message: 'Interaction has already been acknowledged.', code: 40060 } };
  const { type, data } = req.body as { type: number; data?: any };
  i.callbacks.push({ type, data });
  const channelId = i.payload.channel_id as string;
  let message: (Json & { id: string; channel_id: string }) | undefined;
  if (type === 4 || type === 5) {
    // 4: reply now; 5: "thinking…", edited later through @original.
    message = botMessage(d, channelId, type === 4 ? data : { flags: data?.flags ?? 0 }, {
      webhookId: d.applicationId,
      applicationId: d.applicationId,
      interactionMetadata: {
        id: i.id,
        type: i.payload.type,
        user: (i.payload.member as Json).user,
        authorizing_integration_owners: i.payload.authorizing_integration_owners,
        ...((i.payload.data as Json).target_id ? { target_message_id: (i.payload.data as Json).target_id } : {}),
      },
    });
    if (type === 5) message.flags = ((data?.flags as number) ?? 0) | 128; // LOADING
    i.original = message;
    d.sent.push({ via: 'callback', interactionToken: i.token, body: req.body, message });
  } else if (type === 7 || type === 6) {
    // 7: update the message the component is on; 6: acknowledge, edit later.
    const source = i.payload.message as Json & { id: string } | undefined;
    const stored = source ? d.messages.get(source.id) : undefined;
    if (stored && type === 7) {
      Object.assign(stored, pickMessageFields(data));
      d.edited.push({ channelId: stored.channel_id, messageId: stored.id, body: data });
    }
    if (stored) i.original = stored;
    message = stored;
    d.sent.push({ via: 'callback', interactionToken: i.token, body: req.body, message: (stored ?? {}) as Json & { id: string; channel_id: string } });
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

function pickMessageFields(body: any): Json {
  const out: Json = {};
  for (const key of ['content', 'embeds', 'components', 'flags', 'attachments']) {
    if (body && key in body) out[key] = body[key];
  }
  if (out.flags !== undefined) out.flags = (out.flags as number) & ~128;
  return out;
}
