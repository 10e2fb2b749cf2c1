import type { Redis } from 'ioredis';
import { z } from 'zod';
import { GenguardError } from '../../errors/genguard-error.js';

/** Per-server (Discord guild) or per-workspace (Slack team) settings, stored in Redis as JSON. */
export const settingsSchema = z.object({
  /** Master switch for automatic scanning. Slash commands and context menus keep working. */
  enabled: z.boolean().default(true),
  /** Channels scanned automatically. Discord: none until a moderator adds some. */
  watchedChannels: z.array(z.string()).default([]),
  /** Slack: scan every channel the app is a member of (the default there), ignoring watchedChannels. */
  watchAll: z.boolean().default(false),
  /** Slack: channels left out of watchAll (`/aiscan unwatch` in a workspace that watches everything). */
  unwatchedChannels: z.array(z.string()).default([]),
  /** Where moderator alerts go; no alerts until set. */
  alertChannel: z.string().optional(),
  /** Alert when the score is at or above this. */
  alertThreshold: z.number().min(0).max(1).default(0.7),
  /** Lower edge of the "uncertain" band. */
  uncertainThreshold: z.number().min(0).max(1).default(0.4),
  /** How automatic scans answer in the channel. */
  mode: z.enum(['reply', 'thread', 'react', 'silent']).default('reply'),
  /** Backend override for this server; absent = the deployment's GENGUARD_BACKEND. */
  backend: z.enum(['local', 'bitmind', 'bijou', 'cascade']).optional(),
  /** Scan image links (embeds) as well as attachments. */
  scanEmbeds: z.boolean().default(false),
  /** Scan stickers. */
  scanStickers: z.boolean().default(false),
});
export type GuildSettings = z.infer<typeof settingsSchema>;
export type Platform = 'discord' | 'slack';

export interface SettingsStoreOptions {
  redis: Redis;
  /** Key prefix shared with the queues, so deployments sharing a Redis stay apart. */
  prefix: string;
  /** Defaults applied to a server that has never been configured (Slack: { watchAll: true, mode: 'thread' }). */
  defaults?: Partial<GuildSettings>;
}

export class SettingsStore {
  readonly #options: SettingsStoreOptions;

  constructor(options: SettingsStoreOptions) {
    this.#options = options;
  }

  #key(platform: Platform, id: string): string {
    return `${this.#options.prefix}:settings:${platform}:${id}`;
  }

  async get(platform: Platform, id: string): Promise<GuildSettings> {
    const raw = await this.#options.redis.get(this.#key(platform, id));
    const stored: unknown = raw ? safeJson(raw) : {};
    const parsed = settingsSchema.safeParse({ ...this.#options.defaults, ...(stored as object) });
    // A stored value that no longer fits the schema (an older version, a hand edit) falls back
    // to defaults rather than locking the server out of its own settings.
    return parsed.success ? parsed.data : settingsSchema.parse(this.#options.defaults ?? {});
  }

  async update(platform: Platform, id: string, change: (current: GuildSettings) => GuildSettings): Promise<GuildSettings> {
    const next = settingsSchema.safeParse(change(await this.get(platform, id)));
    if (!next.success) throw new GenguardError('usage', `invalid settings: ${z.prettifyError(next.error)}`);
    await this.#options.redis.set(this.#key(platform, id), JSON.stringify(next.data));
    return next.data;
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return {};
  }
}
