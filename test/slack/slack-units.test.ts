import { readFileSync } from 'node:fs';
import path from 'node:path';
import { webApi } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { decodeAlertRef, encodeAlertRef } from '../../src/bots/slack/alert-ref.js';
import { imageRefsOf, isAutoScanCandidate, latestImageMessage, parseCheckArgument } from '../../src/bots/slack/file-refs.js';
import { escapeAndFit, escapeMrkdwn, fit, link, userMention } from '../../src/bots/slack/mrkdwn.js';
import { renderAlert, renderError, renderResult, resolveAlert } from '../../src/bots/slack/result-blocks.js';
import { buildSlackScanJob, isSlackFileHost } from '../../src/bots/slack/scan-jobs.js';
import { applySettingsCommand, isWatched, parseSettingsCommand } from '../../src/bots/slack/settings-command.js';
import { toSlackError } from '../../src/bots/slack/slack-api.js';
import { BOT_SCOPES, resolveSlackSetup } from '../../src/bots/slack/slack-bot.js';
import { buildResultView } from '../../src/bots/shared/result-view.js';
import { settingsSchema } from '../../src/bots/shared/guild-settings.js';
import { loadConfig, PACKAGE_ROOT } from '../../src/config/load-config.js';
import { classify, type DetectionResult } from '../../src/detector/result.js';
import { scanJobSchema } from '../../src/queue/scan-job.js';

const file = (over: Record<string, unknown> = {}) => ({
  id: 'F1',
  name: 'a.png',
  mimetype: 'image/png',
  filetype: 'png',
  size: 10,
  mode: 'hosted',
  url_private_download: 'https://files.slack.com/files-pri/T1-F1/download/a.png',
  ...over,
});

function result(score: number, models = 2): DetectionResult {
  const model_results: DetectionResult['model_results'] = {};
  for (let i = 0; i < models; i++) model_results[`model-${i}-${'x'.repeat(40)}`] = { score, latency_ms: 1 };
  return { ...classify(score), ensemble_score: score, models_succeeded: models, models_total: models, model_results, detection_latency_ms: 4 };
}

describe('mrkdwn', () => {
  it('escapes Slack control characters and cuts without splitting entities or surrogate pairs', () => {
    expect(escapeMrkdwn('<!channel> & <@U1>')).toBe('&lt;!channel&gt; &amp; &lt;@U1&gt;');
    const cut = escapeAndFit('<'.repeat(10), 10);
    expect(cut).toBe('&lt;&lt;…');
    expect(escapeAndFit('😀😀😀', 4)).toBe('😀…');
    expect(fit('abc &amp;&amp; def', 10)).toBe('abc &amp;…');
    expect(userMention('U123ABC')).toBe('<@U123ABC>');
    expect(userMention('<!here>')).toBe('&lt;!here&gt;');
    expect(link('https://x.slack.com/archives/C1/p1|<evil>', 'View')).toBe('<https://x.slack.com/archives/C1/p1%7C%3Cevil%3E|View>');
    expect(link('javascript:alert(1)', 'View')).toBe('View');
  });
});

describe('Slack payload → images', () => {
  it('keeps scannable hosted images only', () => {
    const refs = imageRefsOf({
      files: [
        file(),
        file({ id: 'F2', mimetype: 'image/heic', filetype: 'heic' }),
        file({ id: 'F3', mode: 'tombstone' }),
        file({ id: 'F4', is_external: true }),
        file({ id: 'F5', mimetype: 'text/plain' }),
        file({ id: 'F6', url_private_download: undefined }),
        file({ id: 'F7', mimetype: 'image/webp' }),
      ],
    });
    expect(refs.map((r) => r.fileId)).toEqual(['F1', 'F7']);
    expect(refs[0]).toMatchObject({ name: 'a.png', size: 10, url: expect.stringContaining('/download/') });
  });

  it('auto-scans people’s new file shares in channels, not bots, edits or DMs', () => {
    const base = { type: 'message', subtype: 'file_share', channel: 'C1', channel_type: 'channel', user: 'U1', ts: '1.2', files: [file()] };
    expect(isAutoScanCandidate(base)).toBe(true);
    const { subtype: _subtype, ...plain } = base;
    expect(isAutoScanCandidate(plain)).toBe(true);
    expect(isAutoScanCandidate({ ...base, bot_id: 'B1' })).toBe(false);
    expect(isAutoScanCandidate({ ...base, subtype: 'message_changed' })).toBe(false);
    expect(isAutoScanCandidate({ ...base, channel_type: 'im' })).toBe(false);
    expect(isAutoScanCandidate({ ...base, files: [file({ mimetype: 'application/pdf' })] })).toBe(false);
  });

  it('finds the newest image in a history page', () => {
    const found = latestImageMessage([
      { type: 'message', ts: '3', text: 'no image' },
      { type: 'message', ts: '2', subtype: 'channel_join' },
      { type: 'message', ts: '1.5', files: [file({ id: 'F9' })], user: 'U2' },
      { type: 'message', ts: '1', files: [file()] },
    ]);
    expect(found?.message.ts).toBe('1.5');
    expect(found?.image.fileId).toBe('F9');
    expect(latestImageMessage([{ type: 'message', ts: '1' }])).toBeUndefined();
  });

  it('parses /aicheck arguments', () => {
    expect(parseCheckArgument('')).toBeUndefined();
    expect(parseCheckArgument('<https://e.com/a.png>')?.href).toBe('https://e.com/a.png');
    expect(parseCheckArgument('<https://e.com/a.png|a.png> please')?.href).toBe('https://e.com/a.png');
    expect(() => parseCheckArgument('hello')).toThrow(/image URL/);
    expect(() => parseCheckArgument('ftp://e.com/a.png')).toThrow(/http/);
  });

  it('sends the bot token only to https Slack file hosts (or an explicit host:port)', () => {
    const hosts = ['files.slack.com', '127.0.0.1:8080'];
    expect(isSlackFileHost(new URL('https://files.slack.com/x'), hosts)).toBe(true);
    expect(isSlackFileHost(new URL('http://files.slack.com/x'), hosts)).toBe(false);
    expect(isSlackFileHost(new URL('https://files.slack.com.evil.com/x'), hosts)).toBe(false);
    expect(isSlackFileHost(new URL('http://127.0.0.1:8080/x'), hosts)).toBe(true);
    expect(isSlackFileHost(new URL('http://127.0.0.1:9090/x'), hosts)).toBe(false);
  });

  it('builds valid scan jobs with the token by reference only', () => {
    const settings = settingsSchema.parse({ watchAll: true, alertChannel: 'C9', alertThreshold: 0.8, backend: 'cascade' });
    const [image] = imageRefsOf({ files: [file()] });
    const job = scanJobSchema.parse(
      buildSlackScanJob(
        { teamId: 'T1', channelId: 'C1', messageTs: '1.2', authorId: 'U1', image, trigger: 'auto', reply: { kind: 'thread', channelId: 'C1', threadId: '1.2' }, idParts: ['C1', '1.2', 'F1'] },
        settings,
      ),
    );
    expect(job).toMatchObject({ platform: 'slack', workspaceId: 'T1', attachmentId: 'F1', authorId: 'U1', alertChannelId: 'C9', alertThreshold: 0.8, backend: 'cascade' });
    expect(job.media.auth).toEqual({ kind: 'slack-bot', teamId: 'T1' });
    expect(JSON.stringify(job)).not.toContain('xox');
  });
});

describe('Block Kit rendering', () => {
  it('stays within Block Kit limits with many models and huge evidence', () => {
    const r = { ...result(0.93, 80), evidence: Array.from({ length: 200 }, (_, i) => `evidence <${i}> ${'e'.repeat(50)}`), notes: Array.from({ length: 30 }, () => 'n'.repeat(3000)) };
    const view = buildResultView(r);
    for (const body of [renderResult(view, 'x'.repeat(5000)), renderAlert({ view, channelId: 'C1', userId: 'U1', fileName: 'y'.repeat(5000), permalink: 'https://t.slack.com/archives/C1/p1', actionValue: '{}', canDelete: true })]) {
      expect(body.blocks.length).toBeLessThanOrEqual(50);
      expect(body.text.length).toBeLessThanOrEqual(3000);
      for (const block of body.blocks as Array<Record<string, any>>) {
        if (block['type'] === 'section') expect(block['text'].text.length).toBeLessThanOrEqual(3000);
        if (block['type'] === 'header') expect(block['text'].text.length).toBeLessThanOrEqual(150);
        if (block['type'] === 'context') {
          expect(block['elements'].length).toBeLessThanOrEqual(10);
          for (const e of block['elements']) expect(e.text.length).toBeLessThanOrEqual(2000);
        }
      }
      expect(JSON.stringify(body)).not.toMatch(/<evidence|<\d+>/);
    }
  });

  it('renders errors with the code and a hint, and resolves alerts by dropping the buttons', () => {
    const error = renderError({ code: 'auth_failed', message: 'login <page>', fileName: 'a<b>.png', hint: 'add files:read' });
    expect(JSON.stringify(error)).toContain('files:read');
    expect(JSON.stringify(error)).toContain('login &lt;page&gt;');
    const alert = renderAlert({ view: buildResultView(result(0.9)), channelId: 'C1', actionValue: '{}', canDelete: false });
    const resolved = resolveAlert(alert.blocks, 'done by <@U1>');
    expect(resolved.some((b) => b.type === 'actions')).toBe(false);
    expect(JSON.stringify(resolved)).not.toContain('SLACK_ADMIN_USER_TOKEN');
    expect(JSON.stringify(resolved)).toContain('done by <@U1>');
  });

  it('alert button values round-trip and malformed ones are refused', () => {
    const ref = { c: 'C1', m: '1700000000.000100', f: 'F1', s: 'slack-T1-C1' };
    expect(decodeAlertRef(encodeAlertRef(ref))).toEqual(ref);
    expect(decodeAlertRef('{"c":"<!channel>","m":"1.2","s":"x"}')).toBeUndefined();
    expect(decodeAlertRef('not json')).toBeUndefined();
  });
});

describe('/aiscan rules', () => {
  const defaults = settingsSchema.parse({ watchAll: true, mode: 'thread' });

  it('parses subcommands and channel mentions', () => {
    expect(parseSettingsCommand('watch <#C123|general>')).toEqual({ kind: 'watch', target: { kind: 'channel', id: 'C123' } });
    expect(parseSettingsCommand('unwatch all')).toEqual({ kind: 'unwatch', target: { kind: 'all' } });
    expect(parseSettingsCommand('alerts off')).toEqual({ kind: 'alerts', channel: null });
    expect(parseSettingsCommand('mode REACT')).toEqual({ kind: 'mode', mode: 'react' });
    expect(parseSettingsCommand('threshold -1').kind).toBe('invalid');
    expect(parseSettingsCommand('watch #general').kind).toBe('invalid');
    expect(parseSettingsCommand('')).toEqual({ kind: 'help' });
  });

  it('echoes an invalid channel argument escaped, so it cannot mention anyone', () => {
    const parsed = parseSettingsCommand('alerts <!channel>');
    expect(parsed.kind).toBe('invalid');
    const text = JSON.stringify(parsed);
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('&lt;!channel&gt;');
  });

  it('unwatch while watching all channels excludes just that channel; watch brings it back', () => {
    const off = applySettingsCommand({ kind: 'unwatch', target: { kind: 'here' } }, defaults, 'C1').next;
    expect(isWatched(off, 'C1')).toBe(false);
    expect(isWatched(off, 'C2')).toBe(true);
    const on = applySettingsCommand({ kind: 'watch', target: { kind: 'here' } }, off, 'C1').next;
    expect(isWatched(on, 'C1')).toBe(true);
    const none = applySettingsCommand({ kind: 'unwatch', target: { kind: 'all' } }, on, 'C1').next;
    expect(isWatched(none, 'C2')).toBe(false);
    expect(isWatched({ ...on, enabled: false }, 'C1')).toBe(false);
  });

  it('keeps the bands ordered when the alert threshold goes below "uncertain"', () => {
    const next = applySettingsCommand({ kind: 'threshold', value: 0.3 }, defaults, 'C1').next;
    expect(next.alertThreshold).toBe(0.3);
    expect(next.uncertainThreshold).toBe(0.3);
    expect(settingsSchema.safeParse(next).success).toBe(true);
  });
});

describe('configuration', () => {
  const base = { SLACK_SIGNING_SECRET: 's' };
  it('infers Socket Mode from SLACK_APP_TOKEN and says what is missing', () => {
    expect(resolveSlackSetup(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }).slack).transport).toBe('socket');
    expect(resolveSlackSetup(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1', SLACK_SOCKET_MODE: 'false', ...base }).slack).transport).toBe('http');
    expect(() => resolveSlackSetup(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1' }).slack)).toThrow(/SLACK_SIGNING_SECRET/);
    expect(() => resolveSlackSetup(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SOCKET_MODE: 'true' }).slack)).toThrow(/SLACK_APP_TOKEN/);
    expect(() => resolveSlackSetup(loadConfig(base).slack)).toThrow(/SLACK_BOT_TOKEN/);
    expect(() => resolveSlackSetup(loadConfig({ ...base, SLACK_CLIENT_ID: 'c' }).slack)).toThrow(/SLACK_CLIENT_SECRET, SLACK_STATE_SECRET/);
    expect(() => resolveSlackSetup(loadConfig({ ...base, SLACK_BOT_TOKEN: 'x', SLACK_CLIENT_ID: 'c', SLACK_CLIENT_SECRET: 'd', SLACK_STATE_SECRET: 'e' }).slack)).toThrow(/not both/);
    const config = loadConfig(base);
    expect(config.slack).toMatchObject({ apiUrl: 'https://slack.com/api/', port: 3000, socketMode: false, ephemeralChecks: true, fileHosts: ['files.slack.com'] });
  });

  it('ships a manifest with exactly the scopes, events and commands the app uses', () => {
    const manifest = parseYaml(readFileSync(path.join(PACKAGE_ROOT, 'slack', 'manifest.yml'), 'utf8'));
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([...BOT_SCOPES].sort());
    expect(manifest.settings.event_subscriptions.bot_events.sort()).toEqual(['app_uninstalled', 'message.channels', 'message.groups']);
    expect(manifest.features.slash_commands.map((c: { command: string }) => c.command)).toEqual(['/aicheck', '/aiscan']);
    expect(manifest.features.slash_commands.every((c: { should_escape: boolean }) => c.should_escape)).toBe(true);
    expect(manifest.features.shortcuts).toEqual([expect.objectContaining({ type: 'message', callback_id: 'check_for_ai' })]);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
  });
});

describe('Slack API errors', () => {
  it('are final for refusals and retryable for outages and rate limits', () => {
    const platform = (error: string) => Object.assign(new Error(error), { code: webApi.ErrorCode.PlatformError, data: { ok: false, error } });
    expect(toSlackError(platform('channel_not_found'), 'x')).toMatchObject({ code: 'not_found', retryable: false });
    expect(toSlackError(platform('not_in_channel'), 'x')).toMatchObject({ code: 'permission_denied', retryable: false });
    expect(toSlackError(platform('invalid_auth'), 'x')).toMatchObject({ code: 'auth_failed', retryable: false });
    expect(toSlackError(platform('internal_error'), 'x')).toMatchObject({ code: 'platform_error', retryable: true });
    const limited = Object.assign(new Error('rl'), { code: webApi.ErrorCode.RateLimitedError, retryAfter: 7 });
    expect(toSlackError(limited, 'x')).toMatchObject({ code: 'platform_error', retryable: true, retryAfterSeconds: 7 });
    expect(toSlackError(new Error('ECONNRESET'), 'x')).toMatchObject({ code: 'platform_error', retryable: true });
  });
});
