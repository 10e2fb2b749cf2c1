import type { GuildSettings } from '../shared/guild-settings.js';
import { channelMention, escapeMrkdwn } from './mrkdwn.js';

/**
 * `/aiscan` subcommands as data: parsing and applying are pure, so the rules (what "unwatch"
 * means while every channel is watched, threshold bounds, …) are tested without Slack.
 */

export type SlackMode = 'thread' | 'react' | 'silent';
const MODES: readonly SlackMode[] = ['thread', 'react', 'silent'];
const BACKENDS = ['local', 'bitmind', 'bijou', 'cascade'] as const;

export type ChannelArg = { kind: 'here' } | { kind: 'all' } | { kind: 'channel'; id: string };

export type SettingsCommand =
  | { kind: 'help' }
  | { kind: 'status' }
  | { kind: 'watch'; target: ChannelArg }
  | { kind: 'unwatch'; target: ChannelArg }
  | { kind: 'alerts'; channel: string | null }
  | { kind: 'threshold'; value: number }
  | { kind: 'mode'; mode: SlackMode }
  | { kind: 'backend'; backend: GuildSettings['backend'] | null }
  | { kind: 'enable'; enabled: boolean }
  | { kind: 'invalid'; message: string };

export const SETTINGS_HELP = [
  '*`/aiscan` settings* (workspace admins and owners, or the configured admin group)',
  '• `/aiscan status`: show the settings',
  '• `/aiscan watch [#channel|all]`: scan images posted there (default: this channel); `all` = every channel I am in',
  '• `/aiscan unwatch [#channel|all]`: stop scanning there; `all` = stop automatic scanning everywhere',
  '• `/aiscan alerts #channel|off`: where moderator alerts go',
  '• `/aiscan threshold 0.7`: alert at or above this AI score (0–1)',
  '• `/aiscan mode thread|react|silent`: answer in the thread, with a reaction, or not at all (alerts only)',
  '• `/aiscan backend local|bitmind|bijou|cascade|default`: detection backend for this workspace',
  '• `/aiscan enable|disable`: switch automatic scanning on or off',
].join('\n');

/** `<#C123|general>` (escaped by Slack, `should_escape: true` in the manifest), `<#C123>`, or a bare id. */
function parseChannel(token: string | undefined, allowAll: boolean): ChannelArg | { invalid: string } {
  if (token === undefined || token === 'here' || token === 'this') return { kind: 'here' };
  if (allowAll && token === 'all') return { kind: 'all' };
  const escaped = /^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$/.exec(token);
  if (escaped?.[1]) return { kind: 'channel', id: escaped[1] };
  if (/^[CG][A-Z0-9]{2,}$/.test(token)) return { kind: 'channel', id: token };
  // The argument is echoed back: escape it so `<!channel>` is shown, not sent as a mention.
  return { invalid: `"${escapeMrkdwn(token)}" is not a channel: pick one with # so Slack links it.` };
}

export function parseSettingsCommand(text: string | undefined): SettingsCommand {
  const [rawVerb, ...args] = (text ?? '').trim().split(/\s+/).filter(Boolean);
  const verb = rawVerb?.toLowerCase();
  const arg = args[0];
  switch (verb) {
    case undefined:
    case 'help':
      return { kind: 'help' };
    case 'status':
      return { kind: 'status' };
    case 'watch':
    case 'unwatch': {
      const target = parseChannel(arg?.toLowerCase() === 'all' ? 'all' : arg, true);
      return 'invalid' in target ? { kind: 'invalid', message: target.invalid } : { kind: verb, target };
    }
    case 'alerts':
    case 'alert':
    case 'alert-channel': {
      if (arg?.toLowerCase() === 'off' || arg?.toLowerCase() === 'none') return { kind: 'alerts', channel: null };
      if (arg === undefined) return { kind: 'invalid', message: 'Say where alerts go: `/aiscan alerts #channel` (or `off`).' };
      const target = parseChannel(arg, false);
      if ('invalid' in target) return { kind: 'invalid', message: target.invalid };
      return { kind: 'alerts', channel: target.kind === 'channel' ? target.id : '' };
    }
    case 'threshold': {
      const value = Number(arg);
      if (arg === undefined || !Number.isFinite(value) || value < 0 || value > 1) {
        return { kind: 'invalid', message: 'The threshold is a number from 0 to 1, e.g. `/aiscan threshold 0.7`.' };
      }
      return { kind: 'threshold', value };
    }
    case 'mode': {
      const mode = arg?.toLowerCase() as SlackMode | undefined;
      if (mode === undefined || !MODES.includes(mode)) {
        return { kind: 'invalid', message: 'Modes: `thread`, `react`, `silent`.' };
      }
      return { kind: 'mode', mode };
    }
    case 'backend': {
      const backend = arg?.toLowerCase();
      if (backend === 'default') return { kind: 'backend', backend: null };
      if (backend === undefined || !(BACKENDS as readonly string[]).includes(backend)) {
        return { kind: 'invalid', message: 'Backends: `local`, `bitmind`, `bijou`, `cascade`, or `default`.' };
      }
      return { kind: 'backend', backend: backend as (typeof BACKENDS)[number] };
    }
    case 'enable':
    case 'on':
      return { kind: 'enable', enabled: true };
    case 'disable':
    case 'off':
      return { kind: 'enable', enabled: false };
    default:
      return { kind: 'invalid', message: `Unknown setting "${verb}".` };
  }
}

/** Whether automatic scanning covers `channelId`. */
export function isWatched(settings: GuildSettings, channelId: string): boolean {
  if (!settings.enabled) return false;
  if (settings.watchAll) return !settings.unwatchedChannels.includes(channelId);
  return settings.watchedChannels.includes(channelId);
}

/** Slack has no "reply" mode (that is Discord's); an old or hand-written value means thread. */
export function slackMode(settings: GuildSettings): SlackMode {
  return settings.mode === 'react' || settings.mode === 'silent' ? settings.mode : 'thread';
}

const without = (list: readonly string[], id: string): string[] => list.filter((c) => c !== id);
const withId = (list: readonly string[], id: string): string[] => (list.includes(id) ? [...list] : [...list, id]);

/** The settings after `command` (undefined: nothing to store) and the answer to show. */
export function applySettingsCommand(
  command: Exclude<SettingsCommand, { kind: 'help' | 'status' | 'invalid' }>,
  current: GuildSettings,
  here: string,
): { next: GuildSettings; message: string } {
  const next: GuildSettings = { ...current };
  switch (command.kind) {
    case 'watch': {
      if (command.target.kind === 'all') {
        Object.assign(next, { watchAll: true, unwatchedChannels: [] });
        return { next, message: 'Watching every channel I am a member of. Invite me (`/invite @genguard`) where I should look.' };
      }
      const id = command.target.kind === 'here' ? here : command.target.id;
      next.watchedChannels = withId(current.watchedChannels, id);
      next.unwatchedChannels = without(current.unwatchedChannels, id);
      return { next, message: `Watching ${channelMention(id)}. I must be a member of it to see new images.` };
    }
    case 'unwatch': {
      if (command.target.kind === 'all') {
        Object.assign(next, { watchAll: false, watchedChannels: [], unwatchedChannels: [] });
        return { next, message: 'Automatic scanning is off in every channel. `/aicheck` and the shortcut still work.' };
      }
      const id = command.target.kind === 'here' ? here : command.target.id;
      next.watchedChannels = without(current.watchedChannels, id);
      if (current.watchAll) next.unwatchedChannels = withId(current.unwatchedChannels, id);
      return { next, message: `No longer watching ${channelMention(id)}.` };
    }
    case 'alerts':
      if (command.channel === null) {
        delete next.alertChannel;
        return { next, message: 'Moderator alerts are off.' };
      }
      next.alertChannel = command.channel === '' ? here : command.channel;
      return {
        next,
        message: `Alerts go to ${channelMention(next.alertChannel)}. I must be a member there (\`/invite @genguard\`).`,
      };
    case 'threshold':
      if (command.value < current.uncertainThreshold) {
        // Keeps the bands ordered: an alert threshold below "uncertain" would alert on likely-real images.
        next.uncertainThreshold = command.value;
      }
      next.alertThreshold = command.value;
      return { next, message: `Alerting at an AI score of ${command.value.toFixed(2)} or more.` };
    case 'mode':
      next.mode = command.mode;
      return {
        next,
        message:
          command.mode === 'thread'
            ? 'Verdicts are posted in the thread of each image.'
            : command.mode === 'react'
              ? 'Verdicts are shown as a reaction on each image.'
              : 'Silent: no answer in channels, only moderator alerts.',
      };
    case 'backend':
      if (command.backend === null || command.backend === undefined) {
        delete next.backend;
        return { next, message: 'Using the deployment’s default backend.' };
      }
      next.backend = command.backend;
      return { next, message: `Using the \`${command.backend}\` backend for this workspace.` };
    case 'enable':
      next.enabled = command.enabled;
      return { next, message: command.enabled ? 'Automatic scanning is on.' : 'Automatic scanning is paused.' };
  }
}

export function describeSettings(settings: GuildSettings): string {
  const list = (ids: readonly string[]) => ids.map(channelMention).join(', ');
  const watching = settings.watchAll
    ? `every channel I am in${settings.unwatchedChannels.length > 0 ? ` except ${list(settings.unwatchedChannels)}` : ''}`
    : settings.watchedChannels.length > 0
      ? list(settings.watchedChannels)
      : 'no channels';
  const mode = slackMode(settings);
  return [
    '*genguard settings for this workspace*',
    `• Automatic scanning: ${settings.enabled ? 'on' : 'paused'}; watching ${watching}`,
    `• Answers: ${mode === 'thread' ? 'in the thread' : mode === 'react' ? 'as a reaction' : 'none (silent)'}`,
    `• Alerts: ${settings.alertChannel === undefined ? 'off' : `${channelMention(settings.alertChannel)} at a score ≥ ${settings.alertThreshold.toFixed(2)}`}`,
    `• Backend: ${settings.backend ?? 'deployment default'}`,
  ].join('\n');
}
