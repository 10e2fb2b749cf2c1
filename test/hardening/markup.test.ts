import type { APIEmbed } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { NO_MENTIONS, escapeText, escapeUrl } from '../../src/bots/discord/discord-text.js';
import { errorText } from '../../src/bots/discord/error-text.js';
import { alertMessage, jumpLink, resultEmbed } from '../../src/bots/discord/render-result.js';
import { buildResultView } from '../../src/bots/shared/result-view.js';
import { encodeAlertRef } from '../../src/bots/slack/alert-ref.js';
import { LIMITS, channelMention, escapeAndFit, link, userMention } from '../../src/bots/slack/mrkdwn.js';
import { renderAlert, renderError, renderResult, type SlackMessageBody } from '../../src/bots/slack/result-blocks.js';
import { classify, DEFAULT_BANDS, type DetectionResult } from '../../src/detector/result.js';
import { HOSTILE_STRINGS } from './hostile-strings.js';

/**
 * Every renderer that puts user-controlled text into Discord markdown or Slack mrkdwn, fed the
 * hostile corpus in every slot that text can reach: file name, author name, URL, and the
 * result's evidence, notes and failure reasons (which quote metadata and error messages).
 */

/** No lone surrogate (String.prototype.isWellFormed, which the compile target does not know). */
function wellFormed(text: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

const GUILD = '111111111111111111';
const CHANNEL = '222222222222222222';
const MESSAGE = '333333333333333333';
const AUTHOR = '444444444444444444';
const SLACK_CHANNEL = 'C0HOSTILE1';
const SLACK_USER = 'U0HOSTILE1';

function resultQuoting(s: string): DetectionResult {
  return {
    ...classify(0.93),
    ensemble_score: 0.93,
    models_succeeded: 2,
    models_total: 3,
    model_results: { cnnspot: { score: 0.93, latency_ms: 12 }, provenance: { score: 0.97, latency_ms: 1 } },
    model_notes: { univfd: { status: 'failed', code: 'decode_failed', reason: `cannot decode ${s}` } },
    detection_latency_ms: 20,
    evidence: [`PNG text "Software": ${s}`, `C2PA claim generator ${s}`],
    notes: [s],
  };
}

// ------------------------------------------------------------------------------------ Discord

/** Discord markup the renderer itself produced (known ids and the jump link), removed before looking for what the user smuggled in. */
function withoutOwnMarkup(text: string): string {
  return text
    .replaceAll(`[Jump to message](${jumpLink(GUILD, CHANNEL, MESSAGE)})`, '')
    .replaceAll(`<@${AUTHOR}>`, '')
    .replaceAll(`<#${CHANNEL}>`, '');
}

function discordProblems(text: string, where: string): string[] {
  const t = withoutOwnMarkup(text);
  const problems: string[] = [];
  if (!wellFormed(t)) problems.push(`${where}: lone surrogate (Discord rejects or mangles it)`);
  if (/@(everyone|here)/i.test(t)) problems.push(`${where}: a live @everyone/@here`);
  // Mentions, channel links, role pings, timestamps, slash-command links, custom emoji all start with "<".
  if (/(?<!\\)</.test(t)) problems.push(`${where}: an unescaped "<"`);
  if (/(?<!\\)\[[^\]\n]*\]\(/.test(t)) problems.push(`${where}: a masked link`);
  if (/(?<!\\)\b(https?|javascript):\/\//i.test(t)) problems.push(`${where}: a clickable URL`);
  return problems;
}

function embedProblems(embed: APIEmbed, where: string): string[] {
  const problems: string[] = [];
  const limits: Array<[string | undefined, number, string]> = [
    [embed.title, 256, 'title'],
    [embed.description, 4096, 'description'],
    [embed.footer?.text, 2048, 'footer'],
    ...(embed.fields ?? []).map((f): [string, number, string] => [f.value, 1024, 'field']),
  ];
  for (const [text, max, part] of limits) {
    if (text === undefined) continue;
    if (text.length > max) problems.push(`${where} ${part}: ${text.length} > ${max} characters`);
    problems.push(...discordProblems(text, `${where} ${part}`));
  }
  return problems;
}

describe('Discord renderers with hostile text', () => {
  it.each(HOSTILE_STRINGS.map((s) => [JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…(${s.length})` : s), s]))('%s', (_label, s) => {
    const problems: string[] = [];
    const result = resultQuoting(s);
    problems.push(...embedProblems(resultEmbed(result, { bands: DEFAULT_BANDS, fileName: s }), 'reply'));

    const alert = alertMessage({
      result,
      bands: DEFAULT_BANDS,
      alertId: 'abcdef0123456789',
      guildId: GUILD,
      channelId: CHANNEL,
      messageId: MESSAGE,
      authorId: AUTHOR,
      authorName: s,
      fileName: s,
      cached: true,
    });
    for (const embed of alert.embeds) problems.push(...embedProblems(embed, 'alert'));
    for (const button of alert.components.flatMap((row) => row.components)) {
      if ('label' in button && button.label !== undefined && button.label.length > 80) problems.push('button label too long');
      if ('custom_id' in button && button.custom_id.length > 100) problems.push('custom_id too long');
    }

    for (const code of ['unsupported_format', 'too_large', 'internal', 'fetch_refused'] as const) {
      const content = errorText(code, { fileName: s, size: 20_000_000, maxBytes: 10_485_760, errorId: 'deadbeef' });
      if (content.length > 2000) problems.push(`error ${code}: ${content.length} > 2000`);
      problems.push(...discordProblems(content, `error ${code}`));
    }

    // A file name stays on its line: the reply has as many lines as with a harmless name.
    const lines = (name: string) => resultEmbed(resultQuoting(name), { bands: DEFAULT_BANDS, fileName: name }).description!.split('\n').length;
    if (s !== '' && lines(s) !== lines('plain.png')) problems.push('the text added lines to the reply');

    const url = escapeUrl(`https://cdn.example/${s}`);
    if (!wellFormed(url)) problems.push('escapeUrl: lone surrogate');
    if (!/^`[^`]*`$/s.test(url) || /[\r\n]/.test(url)) problems.push('escapeUrl: not a single inline code span');
    expect(problems).toEqual([]);
  });

  it('sends every message with mentions disabled, as a second line of defence', () => {
    expect(NO_MENTIONS).toEqual({ parse: [], replied_user: false });
  });

  it('cuts long text by characters, never inside a surrogate pair', () => {
    for (let pad = 0; pad < 8; pad++) {
      const text = `${'x'.repeat(110 + pad)}${'😀'.repeat(20)}`;
      for (const max of [60, 100, 119, 120, 121, 200]) {
        expect(wellFormed(escapeText(text, max)), `pad ${pad} max ${max}`).toBe(true);
        expect(wellFormed(escapeUrl(text, max)), `url pad ${pad} max ${max}`).toBe(true);
      }
    }
  });
});

// ------------------------------------------------------------------------------------ Slack

interface TextSlot {
  where: string;
  type: 'mrkdwn' | 'plain_text' | 'fallback' | 'value' | 'id';
  text: string;
  max: number;
}

/** Every string of a message with the Block Kit limit that applies to it. */
function slackSlots(body: SlackMessageBody): { slots: TextSlot[]; problems: string[] } {
  const slots: TextSlot[] = [{ where: 'text', type: 'fallback', text: body.text, max: LIMITS.fallbackText }];
  const problems: string[] = [];
  if (body.blocks.length > LIMITS.blocksPerMessage) problems.push(`${body.blocks.length} blocks`);
  body.blocks.forEach((block, i) => {
    const b = block as unknown as Record<string, any>;
    const where = `block ${i} (${b['type']})`;
    if (b['block_id'] !== undefined) slots.push({ where: `${where} block_id`, type: 'id', text: b['block_id'], max: 255 });
    if (b['type'] === 'section') slots.push({ where, type: b['text'].type, text: b['text'].text, max: LIMITS.sectionText });
    if (b['type'] === 'header') slots.push({ where, type: 'plain_text', text: b['text'].text, max: LIMITS.headerText });
    if (b['type'] === 'context') {
      if (b['elements'].length > LIMITS.contextElements) problems.push(`${where}: ${b['elements'].length} elements`);
      for (const e of b['elements']) slots.push({ where, type: e.type, text: e.text, max: LIMITS.contextText });
    }
    if (b['type'] === 'actions') {
      for (const e of b['elements']) {
        slots.push({ where: `${where} button`, type: 'plain_text', text: e.text.text, max: LIMITS.buttonText });
        slots.push({ where: `${where} value`, type: 'value', text: e.value, max: LIMITS.buttonValue });
        slots.push({ where: `${where} action_id`, type: 'id', text: e.action_id, max: 255 });
      }
    }
  });
  for (const slot of slots) {
    if (typeof slot.text !== 'string') problems.push(`${slot.where}: not a string`);
    else if (slot.text.length > slot.max) problems.push(`${slot.where}: ${slot.text.length} > ${slot.max}`);
    else if (slot.type !== 'id' && slot.type !== 'value' && slot.text.length === 0) problems.push(`${slot.where}: empty text (Slack rejects it)`);
  }
  return { slots, problems };
}

/** mrkdwn the renderer produced itself; anything else with "<" or a raw "&" came from the user. */
function slackOwnMarkupRemoved(text: string, permalink?: string): string {
  let t = text.replaceAll(`<@${SLACK_USER}>`, '').replaceAll(`<#${SLACK_CHANNEL}>`, '');
  if (permalink !== undefined) t = t.replaceAll(link(permalink, 'View message'), '');
  return t;
}

function slackProblems(body: SlackMessageBody, permalink?: string): string[] {
  const { slots, problems } = slackSlots(body);
  for (const slot of slots) {
    if (typeof slot.text !== 'string') continue;
    if (!wellFormed(slot.text)) problems.push(`${slot.where}: lone surrogate`);
    if (slot.type !== 'mrkdwn' && slot.type !== 'fallback') continue;
    const t = slackOwnMarkupRemoved(slot.text, permalink);
    // Slack's control sequences (<!channel>, <@U…>, <url|label>) all need a raw "<"; "&" must only start our entities.
    if (/[<>]/.test(t)) problems.push(`${slot.where}: a raw "<" or ">" in ${JSON.stringify(t.slice(0, 80))}`);
    if (/&(?!amp;|lt;|gt;)/.test(t)) problems.push(`${slot.where}: a raw "&"`);
  }
  // The message must survive JSON as is (no undefined, no functions).
  if (JSON.stringify(JSON.parse(JSON.stringify(body))) !== JSON.stringify(body)) problems.push('not plain JSON');
  return problems;
}

describe('Slack renderers with hostile text', () => {
  it.each(HOSTILE_STRINGS.map((s) => [JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…(${s.length})` : s), s]))('%s', (_label, s) => {
    const view = buildResultView(resultQuoting(s));
    const problems: string[] = [];
    problems.push(...slackProblems(renderResult(view, s)).map((p) => `reply: ${p}`));
    const permalink = 'https://acme.slack.com/archives/C0HOSTILE1/p1700000000000100';
    // The permalink comes from Slack (chat.getPermalink), not from the user.
    const alert = renderAlert({
      view,
      channelId: SLACK_CHANNEL,
      userId: SLACK_USER,
      fileName: s,
      permalink,
      actionValue: encodeAlertRef({ c: SLACK_CHANNEL, m: '1700000000.000100', s: 'slack-T1-C1-1700000000.000100-F1', h: 'a'.repeat(64), p: 'b'.repeat(16) }),
      canDelete: true,
    });
    problems.push(...slackProblems(alert, permalink).map((p) => `alert: ${p}`));
    const linked = link(`https://acme.slack.com/${s.slice(0, 300)}`, 'View message');
    if (!/^<https:\/\/acme\.slack\.com\/[^<>|]*\|View message>$/s.test(linked)) problems.push(`link(): ${linked.slice(0, 80)}`);
    for (const code of ['unsupported_format', 'internal', 'auth_failed']) {
      problems.push(...slackProblems(renderError({ code, message: `cannot read ${s}`, fileName: s })).map((p) => `error ${code}: ${p}`));
    }
    expect(problems).toEqual([]);
  });

  it('never mentions an id that is not a Slack id', () => {
    for (const s of HOSTILE_STRINGS) {
      expect(userMention(s)).not.toMatch(/</);
      expect(channelMention(s)).not.toMatch(/</);
    }
    expect(userMention(SLACK_USER)).toBe(`<@${SLACK_USER}>`);
  });

  it('escapes and cuts by code point, never splitting an entity or a surrogate pair', () => {
    for (const s of HOSTILE_STRINGS) {
      for (const max of [1, 2, 5, 50, 200]) {
        const out = escapeAndFit(s, max);
        expect(out.length).toBeLessThanOrEqual(Math.max(max, 1));
        expect(wellFormed(out)).toBe(true);
        expect(out).not.toMatch(/&(?!amp;|lt;|gt;)/);
      }
    }
  });
});
