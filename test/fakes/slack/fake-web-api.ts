import type { IncomingMessage } from 'node:http';
import { nextTs, type FakeMessage, type FakeTeam, type FakeToken, type FakeWorkspaces } from './fake-workspace.js';

/**
 * The Slack Web API methods genguard calls, with Slack's shapes: HTTP 200 and
 * `{ ok: false, error }` for API errors (`not_authed`, `invalid_auth`, `channel_not_found`, …),
 * form-encoded or JSON bodies, the token as `Authorization: Bearer` or a `token` field.
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

const fail = (error: string): ApiAnswer => ({ status: 200, body: { ok: false, error } });
const ok = (body: Record<string, unknown> = {}): ApiAnswer => ({ status: 200, body: { ok: true, ...body } });

export function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const m = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
  return m?.[1];
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
      case 'conversations.history': {
        const channel = team.channels.get(String(params['channel']));
        if (!channel) return fail('channel_not_found');
        if (principal.kind === 'bot' && !channel.members.has(principal.userId)) return fail('not_in_channel');
        const limit = Math.min(Number(params['limit'] ?? 100) || 100, 1000);
        const top = channel.messages.filter((m) => m.thread_ts === undefined || m.thread_ts === m.ts);
        return ok({ messages: [...top].reverse().slice(0, limit), has_more: top.length > limit });
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
    const message: FakeMessage = { type: 'message', ts: nextTs(), user: principal.userId };
    if (principal.kind === 'bot') message.bot_id = team.botId;
    if (typeof params['text'] === 'string') message.text = params['text'];
    if (Array.isArray(blocks)) message.blocks = blocks;
    if (typeof params['thread_ts'] === 'string') message.thread_ts = params['thread_ts'];
    channel.messages.push(message);
    return ok({ channel: channel.id, ts: message.ts, message });
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
