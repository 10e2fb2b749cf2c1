import { describe, expect, it } from 'vitest';
import { commandDefinitions } from '../../src/bots/discord/commands.js';
import { escapeText } from '../../src/bots/discord/discord-text.js';
import { errorText } from '../../src/bots/discord/error-text.js';
import { alertMessage, parseAlertCustomId, resolvedAlert, resultEmbed } from '../../src/bots/discord/render-result.js';
import { REMINDER } from '../../src/bots/shared/result-view.js';
import { classify, type DetectionResult } from '../../src/detector/result.js';

function result(score: number): DetectionResult {
  return {
    ...classify(score),
    ensemble_score: score,
    models_succeeded: 2,
    models_total: 2,
    model_results: { a: { score, latency_ms: 1 }, b: { score: 0.3, latency_ms: 1 } },
    detection_latency_ms: 1234.4,
    evidence: ['C2PA manifest names an AI generator'],
  };
}

const bands = { ai: 0.7, uncertain: 0.4 };

describe('resultEmbed', () => {
  it('renders the shared view: colour by band, bars per model, models answered, latency, reminder', () => {
    const e = resultEmbed(result(0.91), { bands, fileName: 'cat.png' });
    expect(e.title).toBe('🔴 Likely AI-generated');
    expect(e.color).toBe(0xd83c3e);
    expect(e.description).toBe(
      [
        'File: cat.png',
        '**AI score 0.91 · confidence 91%**',
        '`█████████░` 0.91 · a',
        '`███░░░░░░░` 0.30 · b',
        '2/2 models answered · 1234 ms',
        '• C2PA manifest names an AI generator',
      ].join('\n'),
    );
    expect(e.footer?.text).toBe(REMINDER);
    expect(resultEmbed(result(0.5), { bands }).color).toBe(0xf0a020);
    expect(resultEmbed(result(0.1), { bands }).title).toBe('🟢 Likely real');
  });

  it('uses the server’s bands, not the backend’s', () => {
    expect(resultEmbed(result(0.75), { bands: { ai: 0.8, uncertain: 0.3 } }).title).toBe('🟠 Uncertain');
    expect(resultEmbed(result(0.35), { bands: { ai: 0.8, uncertain: 0.3 } }).title).toBe('🟠 Uncertain');
  });
});

describe('alerts', () => {
  it('has Delete / Dismiss / Open, with ids the button handler parses', () => {
    const m = alertMessage({ result: result(0.9), bands, alertId: 'ab'.repeat(12), guildId: '1', channelId: '2', messageId: '3', authorId: '4', authorName: '**bob**', imageUrl: 'https://cdn/x.png' });
    const [del, dismiss, open] = m.components[0]!.components;
    expect(parseAlertCustomId((del as { custom_id: string }).custom_id)).toEqual({ action: 'delete', alertId: 'ab'.repeat(12) });
    expect(parseAlertCustomId((dismiss as { custom_id: string }).custom_id)).toEqual({ action: 'dismiss', alertId: 'ab'.repeat(12) });
    expect(open).toMatchObject({ style: 5, url: 'https://discord.com/channels/1/2/3' });
    expect(m.embeds[0]!.description).toContain('Author: <@4> (\\*\\*bob\\*\\*)');
    expect(m.embeds[0]!.thumbnail).toEqual({ url: 'https://cdn/x.png' });
    expect(parseAlertCustomId('gg:alert:delete:../../x')).toBeUndefined();

    const done = resolvedAlert(m, { kind: 'deleted', userId: '9', at: 1_700_000_000_000 });
    expect(done.components).toEqual([]);
    expect(done.embeds[0]!.fields?.at(-1)?.value).toBe('🗑️ Message deleted by <@9>. <t:1700000000:R>');
  });
});

describe('text', () => {
  it('escapes markdown, links and mentions, on one line', () => {
    expect(escapeText('a_b *c* `d`\n# e')).toBe('a\\_b \\*c\\* \\`d\\` # e');
    expect(escapeText('@here <#1> https://x.y')).toBe('@\u200bhere \\<#1\\> https\\://x.y');
    expect(escapeText('x'.repeat(300), 10)).toBe(`${'x'.repeat(9)}…`);
  });

  it('says what the user can do, and gives an id otherwise', () => {
    expect(errorText('unsupported_format', { fileName: 'a.heic', errorId: 'x' })).toMatch(/^⚠️ \*\*a\.heic\*\*: I can't read this file type/);
    expect(errorText('no_model_succeeded', { errorId: 'deadbeef' })).toMatch(/\(error id: `deadbeef`\)$/);
  });

  it('defines the three commands, /aiscan for Manage Server only', () => {
    const defs = commandDefinitions() as Array<{ name: string; type: number; default_member_permissions?: string }>;
    expect(defs.map((d) => [d.name, d.type])).toEqual([
      ['aicheck', 1],
      ['Check for AI', 3],
      ['aiscan', 1],
    ]);
    expect(defs[2]!.default_member_permissions).toBe('32');
  });
});
