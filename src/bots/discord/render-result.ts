import type { APIActionRowComponent, APIButtonComponent, APIEmbed } from 'discord.js';
import { buildResultView, type ResultView } from '../shared/result-view.js';
import { classify, type Bands, type DetectionResult } from '../../detector/result.js';
import { clip, escapeText } from './discord-text.js';

/**
 * Discord markup for the shared ResultView: one embed layout for channel replies, interaction
 * answers and moderator alerts, so a verdict looks the same wherever it shows up.
 */

export interface RenderOptions {
  /** The server's bands (alert threshold, uncertain band); they decide the headline and colour. */
  bands: Bands;
  /** Shown above the score (escaped here). */
  fileName?: string;
  /** "cached" note when the verdict was reused. */
  cached?: boolean;
}

/** The result under the server's bands: the backend classified with the deployment's. */
export function viewFor(result: DetectionResult, bands: Bands): ResultView {
  const { prediction, verdict, confidence } = classify(result.ensemble_score, bands);
  return buildResultView({ ...result, prediction, verdict, confidence });
}

export function resultEmbed(result: DetectionResult, options: RenderOptions): APIEmbed {
  const view = viewFor(result, options.bands);
  return {
    title: `${view.emoji} ${view.headline}`,
    color: view.colour,
    description: clip(describe(view, options), 4000),
    footer: { text: view.reminder },
  };
}

function describe(view: ResultView, options: RenderOptions): string {
  const lines: string[] = [];
  if (options.fileName) lines.push(`File: ${escapeText(options.fileName, 120)}`);
  lines.push(`**${view.scoreLine}**`);
  for (const m of view.models) lines.push(`\`${m.bar}\` ${m.score.toFixed(2)} · ${escapeText(m.id, 60)}`);
  lines.push(`${escapeText(view.answered, 300)} · ${view.latency}${options.cached ? ' · cached verdict' : ''}`);
  for (const e of view.evidence) lines.push(`• ${escapeText(e, 300)}`);
  for (const n of view.notes) lines.push(`_${escapeText(n, 300)}_`);
  return lines.join('\n');
}

export const CUSTOM_ID = {
  delete: 'gg:alert:delete',
  dismiss: 'gg:alert:dismiss',
} as const;

export function parseAlertCustomId(customId: string): { action: 'delete' | 'dismiss'; alertId: string } | undefined {
  const m = /^gg:alert:(delete|dismiss):([a-f0-9]{8,64})$/.exec(customId);
  return m ? { action: m[1] as 'delete' | 'dismiss', alertId: m[2]! } : undefined;
}

export interface AlertInput {
  result: DetectionResult;
  bands: Bands;
  alertId: string;
  guildId: string;
  channelId: string;
  messageId?: string;
  authorId?: string;
  authorName?: string;
  fileName?: string;
  /** Shown as the thumbnail. */
  imageUrl?: string;
  cached?: boolean;
}

export function jumpLink(guildId: string, channelId: string, messageId: string): string {
  return `https://discord.com/channels/${guildId}/${channelId}/${messageId}`;
}

/** The moderator alert: thumbnail, who and where, the verdict, and Delete / Dismiss / Open. */
export function alertMessage(input: AlertInput): { embeds: APIEmbed[]; components: Array<APIActionRowComponent<APIButtonComponent>> } {
  const view = viewFor(input.result, input.bands);
  const where: string[] = [];
  if (input.authorId) where.push(`Author: <@${input.authorId}>${input.authorName ? ` (${escapeText(input.authorName, 64)})` : ''}`);
  where.push(`Channel: <#${input.channelId}>`);
  const link = input.messageId ? jumpLink(input.guildId, input.channelId, input.messageId) : undefined;
  if (link) where.push(`[Jump to message](${link})`);
  const embed: APIEmbed = {
    title: `🚨 ${view.headline}: moderator review`,
    color: view.colour,
    description: clip(`${where.join('\n')}\n\n${describe(view, { bands: input.bands, ...(input.fileName ? { fileName: input.fileName } : {}), ...(input.cached ? { cached: true } : {}) })}`, 4000),
    footer: { text: view.reminder },
    timestamp: new Date().toISOString(),
  };
  if (input.imageUrl) embed.thumbnail = { url: input.imageUrl };
  const buttons: APIButtonComponent[] = [];
  if (input.messageId) buttons.push({ type: 2, style: 4, label: 'Delete message', custom_id: `${CUSTOM_ID.delete}:${input.alertId}` });
  buttons.push({ type: 2, style: 2, label: 'Dismiss (false positive)', custom_id: `${CUSTOM_ID.dismiss}:${input.alertId}` });
  if (link) buttons.push({ type: 2, style: 5, label: 'Open', url: link });
  return { embeds: [embed], components: [{ type: 1, components: buttons }] };
}

/**
 * The alert after a moderator acted: the same embed with who did what, and only the Open
 * button left (none once the message is deleted).
 */
export function resolvedAlert(
  current: { embeds: APIEmbed[]; components: Array<APIActionRowComponent<APIButtonComponent>> },
  action: { kind: 'deleted' | 'dismissed' | 'already_deleted'; userId: string; at: number },
): { embeds: APIEmbed[]; components: Array<APIActionRowComponent<APIButtonComponent>> } {
  const text =
    action.kind === 'dismissed'
      ? `✅ Dismissed as a false positive by <@${action.userId}>; reposts of this image will not be alerted again.`
      : action.kind === 'deleted'
        ? `🗑️ Message deleted by <@${action.userId}>.`
        : `🗑️ The message was already gone (checked by <@${action.userId}>).`;
  const [first, ...rest] = current.embeds;
  const embed: APIEmbed = {
    ...(first ?? {}),
    fields: [...(first?.fields ?? []), { name: 'Action', value: `${text} <t:${Math.floor(action.at / 1000)}:R>` }],
  };
  const open = action.kind === 'dismissed'
    ? current.components.flatMap((row) => row.components).filter((c) => c.style === 5)
    : [];
  return { embeds: [embed, ...rest], components: open.length > 0 ? [{ type: 1, components: open }] : [] };
}
