import type { IncomingMessage } from 'node:http';
import { nextTs, type FakeChannel, type FakeMessage, type FakeTeam, type FakeToken, type FakeWorkspaces } from './fake-workspace.js';

/**
 * The Slack Web API methods genguard calls, with Slack's shapes: HTTP 200 and
 * `{ ok: false, error }` for API errors (`not_authed`, `invalid_auth`, `channel_not_found`, …),
 * form-encoded or JSON bodies, the token as `Authorization: Bearer` or a `token` field.
 *
 * Message metadata (https://docs.slack.dev/messaging/message-metadata) as Slack handles it:
 * `metadata` that is not a JSON object → `invalid_metadata_format`; without a string
 * `event_type` or an object `event_payload` → `invalid_metadata_schema`; an `event_type` with
 * characters other than letters, digits, `_` and `-` → posted without the metadata and an
 * `invalid_metadata_schema` warning. Listings (and postMessage's echo) keep only `event_type`
 * unless `include_all_metadata` is set (slackapi/python-slack-sdk#1501). Reading history needs
 * `channels:history` (`groups:history` for private channels), or `missing_scope`.
 */

export interface ApiCall {
  method: string;
  token: string | undefined;
  /** The team the token belongs to, when it is valid. */
  teamId: string | undefined;
  params: Record<string, unknown>;
}

export type ApiAnswer = { status: number; body: Record<string, unknown>; headers?: Record<string, string> };

export interface OAuthGrant {
  teamId: string;
  botToken: string;
  installerUserId: string;
}

export interface WebApiHooks {
  socketUrl(): string;
  oauthGrants: Map<string, OAuthGrant>;
  oauthClient(): { id: string; secret: string } | undefined;
}

export function parseParams(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (contentType?.startsWith('application/json')) {
    try {
      return (JSON.parse(raw) as Record<string, unknown>) ?? {};
    } catch {
      return {};
    }
  }
  const params: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) params[k] = v;
  return params;
}

/** Form-encoded clients send arrays/objects (blocks) as JSON strings. */
function jsonParam(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

const fail = (error: string, extra: Record<string, unknown> = {}): ApiAnswer => ({ status: 200, body: { ok: false, error, ...extra } });
const ok = (body: Record<string, unknown> = {}): ApiAnswer => ({ status: 200, body: { ok: true, ...body } });

export function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const m = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
  return m?.[1];
}

type MetadataCheck = { value?: NonNullable<FakeMessage['metadata']>; error?: string; warning?: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** chat.postMessage's `metadata`, validated the way Slack does (see the class comment). */
function checkMetadata(raw: unknown): MetadataCheck {
  const metadata = jsonParam(raw);
  if (!isObject(metadata)) return { error: 'invalid_metadata_format' };
  const { event_type: eventType, event_payload: payload } = metadata;
  if (typeof eventType !== 'string' || eventType === '' || !isObject(payload)) return { error: 'invalid_metadata_schema' };
  if (!/^[A-Za-z0-9_-]+$/.test(eventType)) return { warning: 'invalid_metadata_schema' };
  return { value: { event_type: eventType, event_payload: structuredClone(payload) } };
}

/** A message as listings return it: `event_payload` only when asked for with include_all_metadata. */
function listed(message: FakeMessage, allMetadata: boolean): FakeMessage {
  if (message.metadata === undefined || allMetadata) return structuredClone(message);
  const copy = structuredClone(message);
  copy.metadata = { event_type: message.metadata.event_type };
  return copy;
}

const flag = (value: unknown): boolean => value === true || value === 'true' || value === '1' || value === 1;

/** Slack `ts` order ("seconds.micro"; `oldest`/`latest` may leave out the fraction). */
function compareTs(a: string, b: string): number {
  const [as = '0', af = ''] = a.split('.');
  const [bs = '0', bf = ''] = b.split('.');
  const [x, y] = [af.padEnd(6, '0'), bf.padEnd(6, '0')];
  return Number(as) - Number(bs) || (x < y ? -1 : x > y ? 1 : 0);
}

/** `oldest` / `latest` bounds, exclusive unless `inclusive`. */
function inWindow(ts: string, params: Record<string, unknown>): boolean {
  const inclusive = flag(params['inclusive']);
  const oldest = params['oldest'] === undefined ? undefined : String(params['oldest']);
  const latest = params['latest'] === undefined ? undefined : String(params['latest']);
  if (oldest !== undefined && (inclusive ? compareTs(ts, oldest) < 0 : compareTs(ts, oldest) <= 0)) return false;
  if (latest !== undefined && (inclusive ? compareTs(ts, latest) > 0 : compareTs(ts, latest) >= 0)) return false;
  return true;
}

/** One page of `messages` (already in Slack's order), with Slack's opaque `next_cursor`. */
function page(messages: FakeMessage[], params: Record<string, unknown>, extra: Record<string, unknown> = {}): ApiAnswer {
  const limit = Math.min(Number(params['limit'] ?? 100) || 100, 1000);
  let start = 0;
  if (typeof params['cursor'] === 'string' && params['cursor'] !== '') {
    const m = /^offset:(\d+)$/.exec(Buffer.from(params['cursor'], 'base64').toString());
    if (!m) return fail('invalid_cursor');
    start = Number(m[1]);
  }
  const all = flag(params['include_all_metadata']);
  const slice = messages.slice(start, start + limit).map((m) => listed(m, all));
  const more = start + limit < messages.length;
  return ok({
    messages: slice,
    has_more: more,
    ...extra,
    ...(more ? { response_metadata: { next_cursor: Buffer.from(`offset:${start + limit}`).toString('base64') } } : {}),
  });
}

/** conversations.history: top-level messages (thread replies stay in their thread), newest first. */
function history(channel: FakeChannel, params: Record<string, unknown>): ApiAnswer {
  const top = channel.messages.filter((m) => (m.thread_ts === undefined || m.thread_ts === m.ts) && inWindow(m.ts, params));
  return page([...top].reverse(), params);
}

/** conversations.replies: the thread of `ts` (its parent or any reply), parent first, then oldest first. */
function replies(channel: FakeChannel, params: Record<string, unknown>): ApiAnswer {
  const ts = String(params['ts'] ?? '');
  const message = channel.messages.find((m) => m.ts === ts);
  if (!message) return fail('thread_not_found');
  const root = message.thread_ts ?? message.ts;
  const thread = channel.messages.filter((m) => (m.ts === root || m.thread_ts === root) && inWindow(m.ts, params));
  return page(thread, params);
}

export class FakeWebApi {
  readonly calls: ApiCall[] = [];
  /** Queued failures: method → errors returned (in order) instead of running it. */
  readonly failures = new Map<string, ApiAnswer[]>();

  constructor(
    private readonly ws: FakeWorkspaces,
    private readonly hooks: WebApiHooks,
  ) {}

  failNext(method: string, answer: string | ApiAnswer): void {
    const list = this.failures.get(method) ?? [];
    list.push(typeof answer === 'string' ? fail(answer) : answer);
    this.failures.set(method, list);
  }

  handle(method: string, req: IncomingMessage, params: Record<string, unknown>): ApiAnswer {
    const token = bearer(req) ?? (typeof params['token'] === 'string' ? params['token'] : undefined);
    const principal = token === undefined ? undefined : this.ws.tokens.get(token);
    this.calls.push({ method, token, teamId: principal?.teamId, params });
    const injected = this.failures.get(method)?.shift();
    if (injected) return injected;
    if (method === 'oauth.v2.access') return this.oauthAccess(req, params);
    if (token === undefined) return fail('not_authed');
    if (!principal) return fail('invalid_auth');
    if (method === 'apps.connections.open') {
      return principal.kind === 'app' ? ok({ url: this.hooks.socketUrl() }) : fail('not_allowed_token_type');
    }
    if (principal.kind === 'app') return fail('not_allowed_token_type');
    const team = this.ws.team(principal.teamId);
    switch (method) {
      case 'auth.test':
        return ok({
          url: `https://${team.domain}.slack.com/`,
          team: team.name,
          user: principal.kind === 'bot' ? 'genguard' : 'admin',
          team_id: team.id,
          user_id: principal.userId,
          ...(principal.kind === 'bot' ? { bot_id: team.botId } : {}),
          is_enterprise_install: false,
        });
      case 'chat.postMessage':
        return this.postMessage(team, principal, params);
      case 'chat.postEphemeral': {
        const channel = team.channels.get(String(params['channel']));
        if (!channel) return fail('channel_not_found');
        if (!team.users.has(String(params['user']))) return fail('user_not_found');
        return ok({ message_ts: nextTs() });
      }
      case 'chat.update':
        return this.update(team, principal, params);
      case 'chat.delete':
        return this.remove(team, principal, params);
      case 'files.delete': {
        const file = team.files.get(String(params['file']));
        if (!file) return fail('file_not_found');
        const user = team.users.get(principal.userId);
        if (principal.kind !== 'user' || !principal.scopes.includes('files:write')) return fail('missing_scope');
        if (user?.is_admin !== true && user?.is_owner !== true) return fail('cant_delete_file');
        team.files.delete(file.id);
        return ok();
      }
      case 'chat.getPermalink': {
        const channel = team.channels.get(String(params['channel']));
        const ts = String(params['message_ts']);
        if (!channel) return fail('channel_not_found');
        if (!channel.messages.some((m) => m.ts === ts)) return fail('message_not_found');
        return ok({ channel: channel.id, permalink: `https://${team.domain}.slack.com/archives/${channel.id}/p${ts.replace('.', '')}` });
      }
      case 'reactions.add': {
        const channel = team.channels.get(String(params['channel']));
        if (!channel) return fail('channel_not_found');
        const message = channel.messages.find((m) => m.ts === String(params['timestamp']));
        if (!message) return fail('message_not_found');
        const name = String(params['name']);
        message.reactions ??= [];
        const existing = message.reactions.find((r) => r.name === name);
        if (existing?.users.includes(principal.userId)) return fail('already_reacted');
        if (existing) {
          existing.users.push(principal.userId);
          existing.count += 1;
        } else message.reactions.push({ name, users: [principal.userId], count: 1 });
        return ok();
      }
      case 'conversations.history':
      case 'conversations.replies': {
        const channel = team.channels.get(String(params['channel']));
        if (!channel) return fail('channel_not_found');
        const needed = channel.isPrivate ? 'groups:history' : 'channels:history';
        if (!principal.scopes.includes(needed)) return fail('missing_scope', { needed, provided: principal.scopes.join(',') });
        if (principal.kind === 'bot' && !channel.members.has(principal.userId)) return fail('not_in_channel');
        return method === 'conversations.history' ? history(channel, params) : replies(channel, params);
      }
      case 'users.info': {
        const user = team.users.get(String(params['user']));
        if (!user) return fail('user_not_found');
        return ok({ user: { ...user, team_id: team.id, is_primary_owner: false } });
      }
      case 'usergroups.users.list': {
        const users = team.usergroups.get(String(params['usergroup']));
        return users ? ok({ users }) : fail('no_such_subteam');
      }
      default:
        return fail('unknown_method');
    }
  }

  private postMessage(team: FakeTeam, principal: FakeToken, params: Record<string, unknown>): ApiAnswer {
    const channel = team.channels.get(String(params['channel']));
    if (!channel) return fail('channel_not_found');
    if (!channel.members.has(principal.userId)) return fail('not_in_channel');
    if (params['text'] === undefined && params['blocks'] === undefined) return fail('no_text');
    const blocks = jsonParam(params['blocks']);
    if (blocks !== undefined && (!Array.isArray(blocks) || blocks.length > 50)) return fail('invalid_blocks');
    const metadata = params['metadata'] === undefined ? undefined : checkMetadata(params['metadata']);
    if (metadata?.error !== undefined) return fail(metadata.error);
    const message: FakeMessage = { type: 'message', ts: nextTs(), user: principal.userId };
    if (principal.kind === 'bot') message.bot_id = team.botId;
    if (typeof params['text'] === 'string') message.text = params['text'];
    if (Array.isArray(blocks)) message.blocks = blocks;
    if (typeof params['thread_ts'] === 'string') message.thread_ts = params['thread_ts'];
    if (metadata?.value !== undefined) message.metadata = metadata.value;
    channel.messages.push(message);
    const answer = ok({ channel: channel.id, ts: message.ts, message: listed(message, false) });
    if (metadata?.warning !== undefined) Object.assign(answer.body, { warning: metadata.warning, response_metadata: { warnings: [metadata.warning] } });
    return answer;
  }

  private update(team: FakeTeam, principal: FakeToken, params: Record<string, unknown>): ApiAnswer {
    const channel = team.channels.get(String(params['channel']));
    if (!channel) return fail('channel_not_found');
    const message = channel.messages.find((m) => m.ts === String(params['ts']));
    if (!message) return fail('message_not_found');
    if (message.user !== principal.userId) return fail('cant_update_message');
    const blocks = jsonParam(params['blocks']);
    if (Array.isArray(blocks)) message.blocks = blocks;
    if (typeof params['text'] === 'string') message.text = params['text'];
    return ok({ channel: channel.id, ts: message.ts });
  }

  /** Bot tokens delete only the bot's messages; user tokens their own, or any when the user is an admin. */
  private remove(team: FakeTeam, principal: FakeToken, params: Record<string, unknown>): ApiAnswer {
    const channel = team.channels.get(String(params['channel']));
    if (!channel) return fail('channel_not_found');
    const index = channel.messages.findIndex((m) => m.ts === String(params['ts']));
    if (index < 0) return fail('message_not_found');
    const message = channel.messages[index] as FakeMessage;
    const user = team.users.get(principal.userId);
    const allowed =
      message.user === principal.userId || (principal.kind === 'user' && (user?.is_admin === true || user?.is_owner === true));
    if (!allowed) return fail('cant_delete_message');
    channel.messages.splice(index, 1);
    return ok({ channel: channel.id, ts: message.ts });
  }

  private oauthAccess(req: IncomingMessage, params: Record<string, unknown>): ApiAnswer {
    let clientId = params['client_id'];
    let clientSecret = params['client_secret'];
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (basic?.[1]) [clientId, clientSecret] = Buffer.from(basic[1], 'base64').toString().split(':');
    const client = this.hooks.oauthClient();
    if (!client || clientId !== client.id || clientSecret !== client.secret) return fail('invalid_client_id');
    const grant = this.hooks.oauthGrants.get(String(params['code']));
    if (!grant) return fail('invalid_code');
    this.hooks.oauthGrants.delete(String(params['code']));
    const team = this.ws.team(grant.teamId);
    const scopes = this.ws.tokens.get(grant.botToken)?.scopes ?? [];
    return ok({
      app_id: 'A0GENGUARD',
      authed_user: { id: grant.installerUserId },
      scope: scopes.join(','),
      token_type: 'bot',
      access_token: grant.botToken,
      bot_user_id: team.botUserId,
      team: { id: team.id, name: team.name },
      enterprise: null,
      is_enterprise_install: false,
    });
  }
}
