/**
 * The state behind the fake Slack: workspaces with users, channels, messages, files, user
 * groups and tokens. Plain data, mutated by the fake Web API and inspected by tests.
 */

export type TokenKind = 'bot' | 'user' | 'app';

export interface FakeToken {
  token: string;
  kind: TokenKind;
  teamId: string;
  /** The user the token acts as (the bot user for bot tokens). */
  userId: string;
  /** Scopes granted; `files:read` decides whether the file host serves bytes or the login page. */
  scopes: string[];
}

export interface FakeUser {
  id: string;
  name: string;
  is_admin: boolean;
  is_owner: boolean;
  is_bot?: boolean;
}

export interface FakeFile {
  id: string;
  teamId: string;
  name: string;
  mimetype: string;
  filetype: string;
  bytes: Buffer;
  /** Serve a redirect to another host (127.0.0.2) instead of the bytes. */
  redirectElsewhere?: boolean;
}

export interface FakeMessage {
  ts: string;
  type: 'message';
  subtype?: string;
  user?: string;
  bot_id?: string;
  text?: string;
  blocks?: unknown[];
  thread_ts?: string;
  files?: Array<Record<string, unknown>>;
  reactions?: Array<{ name: string; users: string[]; count: number }>;
  /** Message metadata as posted; listings return `event_payload` only with `include_all_metadata`. */
  metadata?: { event_type: string; event_payload?: Record<string, unknown> };
}

export interface FakeChannel {
  id: string;
  name: string;
  /** A private channel: its history needs `groups:history` instead of `channels:history`. */
  isPrivate: boolean;
  members: Set<string>;
  /** Oldest first. */
  messages: FakeMessage[];
}

export interface FakeTeam {
  id: string;
  name: string;
  domain: string;
  botUserId: string;
  botId: string;
  users: Map<string, FakeUser>;
  channels: Map<string, FakeChannel>;
  usergroups: Map<string, string[]>;
  files: Map<string, FakeFile>;
}

let tsCounter = 0;

/** Unique, increasing Slack-style message timestamps ("seconds.micro"). */
export function nextTs(): string {
  tsCounter += 1;
  const seconds = Math.floor(Date.now() / 1000);
  return `${seconds}.${String(tsCounter).padStart(6, '0')}`;
}

export class FakeWorkspaces {
  readonly teams = new Map<string, FakeTeam>();
  readonly tokens = new Map<string, FakeToken>();
  #ids = 0;

  id(prefix: string): string {
    this.#ids += 1;
    return `${prefix}${String(this.#ids).padStart(8, '0')}`;
  }

  /** A workspace with its bot user (member of no channel yet) and a bot token with the given scopes. */
  addTeam(options: { id?: string; name?: string; botScopes?: string[]; botToken?: string } = {}): { team: FakeTeam; botToken: string } {
    const id = options.id ?? this.id('T');
    const team: FakeTeam = {
      id,
      name: options.name ?? `Team ${id}`,
      domain: id.toLowerCase(),
      botUserId: this.id('U'),
      botId: this.id('B'),
      users: new Map(),
      channels: new Map(),
      usergroups: new Map(),
      files: new Map(),
    };
    team.users.set(team.botUserId, { id: team.botUserId, name: 'genguard', is_admin: false, is_owner: false, is_bot: true });
    this.teams.set(id, team);
    const botToken = options.botToken ?? `xoxb-${id}-${this.id('')}`;
    this.tokens.set(botToken, {
      token: botToken,
      kind: 'bot',
      teamId: id,
      userId: team.botUserId,
      scopes: options.botScopes ?? ['files:read', 'chat:write', 'channels:history', 'reactions:write', 'users:read'],
    });
    return { team, botToken };
  }

  addUser(teamId: string, user: Partial<FakeUser> = {}): FakeUser {
    const team = this.team(teamId);
    const u: FakeUser = { id: user.id ?? this.id('U'), name: user.name ?? 'someone', is_admin: false, is_owner: false, ...user };
    team.users.set(u.id, u);
    return u;
  }

  addUserToken(teamId: string, userId: string, scopes: string[] = ['chat:write']): string {
    const token = `xoxp-${teamId}-${this.id('')}`;
    this.tokens.set(token, { token, kind: 'user', teamId, userId, scopes });
    return token;
  }

  addAppToken(teamId: string): string {
    const token = `xapp-1-${this.id('A')}`;
    this.tokens.set(token, { token, kind: 'app', teamId, userId: '', scopes: ['connections:write'] });
    return token;
  }

  addChannel(teamId: string, options: { name?: string; withBot?: boolean; members?: string[]; isPrivate?: boolean } = {}): FakeChannel {
    const team = this.team(teamId);
    const isPrivate = options.isPrivate === true;
    const channel: FakeChannel = {
      id: this.id('C'),
      name: options.name ?? 'general',
      isPrivate,
      members: new Set(options.members ?? []),
      messages: [],
    };
    if (options.withBot !== false) channel.members.add(team.botUserId);
    team.channels.set(channel.id, channel);
    return channel;
  }

  team(teamId: string): FakeTeam {
    const team = this.teams.get(teamId);
    if (!team) throw new Error(`fake slack: no team ${teamId}`);
    return team;
  }

  channel(teamId: string, channelId: string): FakeChannel {
    const channel = this.team(teamId).channels.get(channelId);
    if (!channel) throw new Error(`fake slack: no channel ${channelId} in ${teamId}`);
    return channel;
  }

  message(teamId: string, channelId: string, ts: string): FakeMessage | undefined {
    return this.channel(teamId, channelId).messages.find((m) => m.ts === ts);
  }
}
