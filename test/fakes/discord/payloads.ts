import { randomBytes } from 'node:crypto';
import { snowflake } from './snowflake.js';

/**
 * Builders for the JSON Discord sends: shaped after the API reference and what discord.js v14
 * reads (it dereferences `entitlements`, `authorizing_integration_owners`, `member.permissions`).
 * Plain objects, so tests can tweak any field.
 */

export type Json = Record<string, unknown>;

export interface FakeUser {
  id: string;
  username: string;
  bot?: boolean;
}

export interface FakeChannel {
  id: string;
  name: string;
  /** 0 = GUILD_TEXT, 11 = PUBLIC_THREAD. */
  type?: number;
  parentId?: string;
}

export interface FakeMember {
  user: FakeUser;
  /** Permission bitfield as a decimal string (e.g. "8192" = Manage Messages). */
  permissions: string;
  roles?: string[];
}

export interface FakeGuild {
  id: string;
  name: string;
  ownerId: string;
  channels: FakeChannel[];
  members: FakeMember[];
}

export const PERMISSIONS = {
  ADMINISTRATOR: 1n << 3n,
  MANAGE_GUILD: 1n << 5n,
  ADD_REACTIONS: 1n << 6n,
  VIEW_CHANNEL: 1n << 10n,
  SEND_MESSAGES: 1n << 11n,
  MANAGE_MESSAGES: 1n << 13n,
  EMBED_LINKS: 1n << 14n,
  ATTACH_FILES: 1n << 15n,
  READ_MESSAGE_HISTORY: 1n << 16n,
  USE_APPLICATION_COMMANDS: 1n << 31n,
  SEND_MESSAGES_IN_THREADS: 1n << 38n,
} as const;

/** What an ordinary member may do: read, write, use commands. */
export const MEMBER_PERMISSIONS = (
  PERMISSIONS.VIEW_CHANNEL |
  PERMISSIONS.SEND_MESSAGES |
  PERMISSIONS.READ_MESSAGE_HISTORY |
  PERMISSIONS.ADD_REACTIONS |
  PERMISSIONS.USE_APPLICATION_COMMANDS |
  PERMISSIONS.ATTACH_FILES |
  PERMISSIONS.EMBED_LINKS
).toString();
export const MODERATOR_PERMISSIONS = (BigInt(MEMBER_PERMISSIONS) | PERMISSIONS.MANAGE_MESSAGES).toString();
export const ADMIN_PERMISSIONS = (BigInt(MODERATOR_PERMISSIONS) | PERMISSIONS.MANAGE_GUILD).toString();

export function userPayload(user: FakeUser): Json {
  return {
    id: user.id,
    username: user.username,
    discriminator: '0',
    global_name: user.username,
    avatar: null,
    bot: user.bot ?? false,
    public_flags: 0,
  };
}

export function channelPayload(channel: FakeChannel, guildId: string): Json {
  const type = channel.type ?? 0;
  const base: Json = {
    id: channel.id,
    type,
    guild_id: guildId,
    name: channel.name,
    position: 0,
    permission_overwrites: [],
    parent_id: channel.parentId ?? null,
    nsfw: false,
    rate_limit_per_user: 0,
    last_message_id: null,
    topic: null,
  };
  if (type === 11 || type === 12) {
    base.owner_id = channel.id;
    base.thread_metadata = {
      archived: false,
      auto_archive_duration: 1440,
      archive_timestamp: new Date().toISOString(),
      locked: false,
    };
    base.message_count = 0;
    base.member_count = 1;
    delete base.permission_overwrites;
  }
  return base;
}

export function memberPayload(member: FakeMember, withUser = true): Json {
  const m: Json = {
    roles: member.roles ?? [],
    joined_at: '2024-01-01T00:00:00.000Z',
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
    nick: null,
    avatar: null,
    premium_since: null,
    communication_disabled_until: null,
  };
  if (withUser) m.user = userPayload(member.user);
  return m;
}

export function guildCreatePayload(guild: FakeGuild, bot: FakeUser): Json {
  const threads = guild.channels.filter((c) => c.type === 11 || c.type === 12);
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    owner_id: guild.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    roles: [
      {
        id: guild.id,
        name: '@everyone',
        color: 0,
        colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
        hoist: false,
        icon: null,
        unicode_emoji: null,
        position: 0,
        permissions: MEMBER_PERMISSIONS,
        managed: false,
        mentionable: false,
        flags: 0,
      },
    ],
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: 0,
    application_id: null,
    system_channel_id: null,
    system_channel_flags: 0,
    rules_channel_id: null,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: 0,
    premium_subscription_count: 0,
    preferred_locale: 'en-US',
    public_updates_channel_id: null,
    nsfw_level: 0,
    premium_progress_bar_enabled: false,
    safety_alerts_channel_id: null,
    joined_at: '2024-01-01T00:00:00.000Z',
    large: false,
    unavailable: false,
    member_count: guild.members.length + 1,
    voice_states: [],
    members: [...guild.members, { user: bot, permissions: ADMIN_PERMISSIONS }].map((m) => memberPayload(m)),
    channels: guild.channels.filter((c) => !threads.includes(c)).map((c) => channelPayload(c, guild.id)),
    threads: threads.map((c) => channelPayload(c, guild.id)),
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}

export interface FakeAttachment {
  id: string;
  filename: string;
  size: number;
  url: string;
  proxy_url: string;
  content_type?: string;
  width?: number;
  height?: number;
}

export function attachmentPayload(a: FakeAttachment): Json {
  const out: Json = { ...a, flags: 0 };
  if (a.content_type === undefined) delete out.content_type;
  return out;
}

export interface MessageInit {
  id?: string;
  guildId?: string;
  channelId: string;
  author: FakeUser;
  member?: FakeMember;
  content?: string;
  attachments?: FakeAttachment[];
  embeds?: Json[];
  stickerItems?: Array<{ id: string; name: string; format_type: number }>;
  messageReference?: Json;
  components?: Json[];
  flags?: number;
  webhookId?: string;
  applicationId?: string;
  interactionMetadata?: Json;
}

export function messagePayload(init: MessageInit): Json {
  const id = init.id ?? snowflake();
  const msg: Json = {
    id,
    type: init.messageReference ? 19 : 0,
    channel_id: init.channelId,
    author: userPayload(init.author),
    content: init.content ?? '',
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    mention_channels: [],
    attachments: (init.attachments ?? []).map(attachmentPayload),
    embeds: init.embeds ?? [],
    reactions: [],
    pinned: false,
    flags: init.flags ?? 0,
    components: init.components ?? [],
  };
  if (init.guildId !== undefined) msg.guild_id = init.guildId;
  if (init.member) msg.member = memberPayload(init.member, false);
  if (init.stickerItems) msg.sticker_items = init.stickerItems;
  if (init.messageReference) msg.message_reference = init.messageReference;
  if (init.webhookId) msg.webhook_id = init.webhookId;
  if (init.applicationId) msg.application_id = init.applicationId;
  if (init.interactionMetadata) msg.interaction_metadata = init.interactionMetadata;
  return msg;
}

export interface InteractionInit {
  applicationId: string;
  guild: FakeGuild;
  channel: FakeChannel;
  member: FakeMember;
  /** 2 = APPLICATION_COMMAND, 3 = MESSAGE_COMPONENT. */
  type: number;
  data: Json;
  message?: Json;
  appPermissions?: string;
}

export function interactionPayload(init: InteractionInit): Json & { id: string; token: string } {
  const payload: Json & { id: string; token: string } = {
    id: snowflake(),
    application_id: init.applicationId,
    type: init.type,
    data: init.data,
    guild_id: init.guild.id,
    guild: { id: init.guild.id, locale: 'en-US', features: [] },
    channel_id: init.channel.id,
    channel: {
      ...channelPayload(init.channel, init.guild.id),
      permissions: init.member.permissions,
    },
    member: { ...memberPayload(init.member), permissions: init.member.permissions },
    token: `aW50ZXJhY3Rpb24${randomBytes(24).toString('base64url')}`,
    version: 1,
    app_permissions: init.appPermissions ?? ADMIN_PERMISSIONS,
    locale: 'en-US',
    guild_locale: 'en-US',
    entitlements: [],
    authorizing_integration_owners: { '0': init.guild.id },
    context: 0,
    attachment_size_limit: 10 * 1024 * 1024,
  };
  if (init.message) payload.message = init.message;
  return payload;
}
