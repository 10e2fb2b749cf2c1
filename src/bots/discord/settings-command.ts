import type { GuildSettings, SettingsStore } from '../shared/guild-settings.js';
import { GenguardError } from '../../errors/genguard-error.js';
import { BACKEND_CHOICES, MODES } from './commands.js';

/** The options of one `/aiscan` call, read off the interaction. */
export interface SettingsOptions {
  channelId(name: string): string | undefined;
  number(name: string): number | undefined;
  string(name: string): string | undefined;
  boolean(name: string): boolean | undefined;
}

export interface SettingsContext {
  /** False when Discord refused the Message Content intent: automatic scans cannot see images. */
  messageContent: boolean;
}

/**
 * Applies one `/aiscan` subcommand to the server's stored settings and says what changed.
 * Invalid combinations (uncertain band above the alert threshold) are refused with a reason.
 */
export async function runSettingsCommand(
  store: SettingsStore,
  guildId: string,
  sub: string,
  options: SettingsOptions,
  context: SettingsContext,
): Promise<string> {
  const update = (change: (s: GuildSettings) => GuildSettings) => store.update('discord', guildId, change);
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new GenguardError('usage', `missing option: ${what}`);
    return value;
  };

  switch (sub) {
    case 'status':
      return renderSettings(await store.get('discord', guildId), context);
    case 'watch': {
      const id = need(options.channelId('channel'), 'channel');
      await update((s) => ({ ...s, watchedChannels: [...new Set([...s.watchedChannels, id])] }));
      return `Now watching <#${id}> and its threads.${context.messageContent ? '' : ` ${NO_CONTENT_NOTE}`}`;
    }
    case 'unwatch': {
      const id = need(options.channelId('channel'), 'channel');
      const before = await store.get('discord', guildId);
      if (!before.watchedChannels.includes(id)) return `<#${id}> was not being watched.`;
      await update((s) => ({ ...s, watchedChannels: s.watchedChannels.filter((c) => c !== id) }));
      return `Stopped watching <#${id}>.`;
    }
    case 'alerts': {
      const id = need(options.channelId('channel'), 'channel');
      await update((s) => ({ ...s, alertChannel: id }));
      return `Moderator alerts will go to <#${id}>.`;
    }
    case 'threshold': {
      const value = need(options.number('value'), 'value');
      const current = await store.get('discord', guildId);
      if (value < current.uncertainThreshold) {
        return `The alert threshold must not be below the uncertain band's start (${current.uncertainThreshold.toFixed(2)}). Lower that first with \`/aiscan uncertain\`.`;
      }
      await update((s) => ({ ...s, alertThreshold: value }));
      return `Alerts for AI scores ≥ ${value.toFixed(2)}.`;
    }
    case 'uncertain': {
      const value = need(options.number('value'), 'value');
      const current = await store.get('discord', guildId);
      if (value > current.alertThreshold) {
        return `The uncertain band must start at or below the alert threshold (${current.alertThreshold.toFixed(2)}).`;
      }
      await update((s) => ({ ...s, uncertainThreshold: value }));
      return `Scores from ${value.toFixed(2)} to ${current.alertThreshold.toFixed(2)} are shown as uncertain.`;
    }
    case 'mode': {
      const value = need(options.string('value'), 'value');
      if (!(MODES as readonly string[]).includes(value)) throw new GenguardError('usage', `unknown mode "${value}"`);
      await update((s) => ({ ...s, mode: value as GuildSettings['mode'] }));
      return `Automatic scans now answer in **${value}** mode.`;
    }
    case 'backend': {
      const value = need(options.string('value'), 'value');
      if (!(BACKEND_CHOICES as readonly string[]).includes(value)) throw new GenguardError('usage', `unknown backend "${value}"`);
      await update((s) => {
        const { backend: _drop, ...rest } = s;
        return value === 'default' ? rest : { ...rest, backend: value as NonNullable<GuildSettings['backend']> };
      });
      return value === 'default' ? 'This server now uses the deployment’s default backend.' : `This server now uses the **${value}** backend.`;
    }
    case 'links': {
      const value = need(options.boolean('enabled'), 'enabled');
      await update((s) => ({ ...s, scanEmbeds: value }));
      return value ? 'Images from links will be scanned too.' : 'Images from links will not be scanned.';
    }
    case 'stickers': {
      const value = need(options.boolean('enabled'), 'enabled');
      await update((s) => ({ ...s, scanStickers: value }));
      return value ? 'Stickers will be scanned too.' : 'Stickers will not be scanned.';
    }
    case 'on':
      await update((s) => ({ ...s, enabled: true }));
      return `Automatic scanning is **on**.${context.messageContent ? '' : ` ${NO_CONTENT_NOTE}`}`;
    case 'off':
      await update((s) => ({ ...s, enabled: false }));
      return 'Automatic scanning is **off**. `/aicheck` and "Check for AI" keep working.';
    default:
      throw new GenguardError('usage', `unknown subcommand "${sub}"`);
  }
}

const NO_CONTENT_NOTE =
  '⚠️ The bot runs without the Message Content intent, so it cannot see posted images yet: enable it in the Discord developer portal (Bot → Privileged Gateway Intents).';

export function renderSettings(s: GuildSettings, context: SettingsContext): string {
  const channels = s.watchedChannels.length > 0 ? s.watchedChannels.map((c) => `<#${c}>`).join(', ') : 'none (add one with `/aiscan watch`)';
  const lines = [
    `**Automatic scanning:** ${s.enabled ? 'on' : 'off'}`,
    `**Watched channels:** ${channels}`,
    `**Alert channel:** ${s.alertChannel ? `<#${s.alertChannel}>` : 'none (set one with `/aiscan alerts`)'}`,
    `**Alert threshold:** ${s.alertThreshold.toFixed(2)}`,
    `**Uncertain band:** ${s.uncertainThreshold.toFixed(2)}–${s.alertThreshold.toFixed(2)}`,
    `**Reply mode:** ${s.mode}`,
    `**Backend:** ${s.backend ?? 'default'}`,
    `**Image links:** ${s.scanEmbeds ? 'scanned' : 'not scanned'} · **Stickers:** ${s.scanStickers ? 'scanned' : 'not scanned'}`,
  ];
  if (!context.messageContent) lines.push(NO_CONTENT_NOTE);
  return lines.join('\n');
}
