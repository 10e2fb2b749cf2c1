import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { GenguardError } from '../../errors/genguard-error.js';
import { compareAndSet } from './compare-and-set.js';

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

/**
 * How often `update` re-reads and re-applies a change that lost a race before giving up. Real
 * contention is a handful of moderators at once; twenty lost races in a row means something
 * keeps rewriting the key, and the caller is better served by an error than a spin.
 */
const UPDATE_ATTEMPTS = 20;

export class SettingsStore {
  readonly #options: SettingsStoreOptions;

  constructor(options: SettingsStoreOptions) {
    this.#options = options;
  }

  #key(platform: Platform, id: string): string {
    return `${this.#options.prefix}:settings:${platform}:${id}`;
  }

  async get(platform: Platform, id: string): Promise<GuildSettings> {
    return this.#parse(await this.#options.redis.get(this.#key(platform, id)));
  }

  #parse(raw: string | null): GuildSettings {
    const stored: unknown = raw ? safeJson(raw) : {};
    const parsed = settingsSchema.safeParse({ ...this.#options.defaults, ...(stored as object) });
    // A stored value that no longer fits the schema (an older version, a hand edit) falls back
    // to defaults rather than locking the server out of its own settings.
    return parsed.success ? parsed.data : settingsSchema.parse(this.#options.defaults ?? {});
  }

  /**
   * Applies `change` to the stored settings atomically: two moderators (or two bot processes)
   * changing settings at the same moment both land, neither overwrites the other.
   *
   * Optimistic: reads, applies `change`, and writes only if nobody wrote in between; otherwise
   * it starts over from the newer value. So `change` may be called several times and must be a
   * pure function of `current` (no side effects that cannot be repeated; the result of the last
   * call is the one stored and returned).
   *
   * @throws GenguardError `usage` when `change` returns settings that fail the schema (not retried).
   * @throws GenguardError `platform_error` (retryable) when the key kept changing under it for
   *   20 attempts in a row.
   */
  async update(platform: Platform, id: string, change: (current: GuildSettings) => GuildSettings): Promise<GuildSettings> {
    const { redis } = this.#options;
    const key = this.#key(platform, id);
    for (let attempt = 1; attempt <= UPDATE_ATTEMPTS; attempt++) {
      const raw = await redis.get(key);
      const next = settingsSchema.safeParse(change(this.#parse(raw)));
      if (!next.success) throw new GenguardError('usage', `invalid settings: ${z.prettifyError(next.error)}`);
      if (await compareAndSet(redis, key, raw, JSON.stringify(next.data))) return next.data;
      // Full-jitter exponential backoff: racing writers spread out instead of colliding again
      // in lockstep, and the cap keeps the worst case (every attempt lost) around a second.
      await sleep(Math.random() * Math.min(2 ** (attempt + 1), 100));
    }
    throw new GenguardError('platform_error', `settings for ${platform}:${id} kept changing during the update (${UPDATE_ATTEMPTS} attempts); try again`, {
      retryable: true,
      retryAfterSeconds: 1,
      details: { platform, id, attempts: UPDATE_ATTEMPTS },
    });
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return {};
  }
}
