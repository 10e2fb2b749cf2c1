import type { Redis } from 'ioredis';
import { SettingsStore, type GuildSettings } from '../shared/guild-settings.js';

/**
 * Slack's defaults for a workspace nobody configured: scan every channel the app was invited to
 * (inviting it is the opt-in) and answer in the image's thread.
 */
export const SLACK_SETTINGS_DEFAULTS: Partial<GuildSettings> = { watchAll: true, mode: 'thread' };

/** The settings store the Slack bot and the Slack notifier share (same prefix as the queues). */
export function createSlackSettingsStore(redis: Redis, prefix: string): SettingsStore {
  return new SettingsStore({ redis, prefix, defaults: SLACK_SETTINGS_DEFAULTS });
}
