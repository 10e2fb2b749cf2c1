import { describe, expect, it } from 'vitest';
import { REACTIONS } from '../../src/bots/slack/slack-notifier.js';
import { eventCallback } from '../fakes/slack/payloads.js';
import { sendToApp } from '../fakes/slack/slack-signing.js';
import { messageText, png, useSlackHarness, waitFor } from './harness.js';

const slack = useSlackHarness({ transport: 'http' });

describe('Slack over HTTP: automatic scans', () => {
  it('answers a shared image in its thread and alerts the moderators with a permalink', async () => {
    const harness = await slack.start();
    await harness.bot.settings.update('slack', harness.team.id, (s) => ({ ...s, alertChannel: harness.mods.id }));
    const { event, answer } = await harness.share([{ name: 'ai-93.png' }]);
    expect(answer.status).toBe(200);
    const [reply] = await harness.waitForBotMessage(harness.general, event.ts);
    expect(messageText(reply!)).toContain('Likely AI-generated');
    expect(messageText(reply!)).toContain('AI score 0.93');
    const [alert] = await harness.waitForBotMessage(harness.mods);
    const text = messageText(alert!);
    expect(text).toContain(`/archives/${harness.general.id}/p${event.ts.replace('.', '')}`);
    expect(text).toContain(`<@${harness.alice.id}>`);
    expect(text).toContain('fake-vit');
    expect(text).toContain('genguard_alert_dismiss');
    // No admin token: no Delete button, and the alert says why.
    expect(text).not.toContain('genguard_alert_delete');
    expect(text).toContain('SLACK_ADMIN_USER_TOKEN');
    // The worker fetched the private file with the bot token.
    expect(harness.fake.fileRequests.map((r) => r.authorization)).toEqual([`Bearer ${harness.botToken}`]);
  });

  it('replies in the existing thread for an image posted in a thread, without alerting a likely-real image', async () => {
    const harness = await slack.start({ settings: {} });
    await harness.bot.settings.update('slack', harness.team.id, (s) => ({ ...s, alertChannel: harness.mods.id }));
    const root = harness.fake.postUserMessage(harness.team.id, harness.general.id, harness.alice.id, { text: 'look' });
    const { event } = await harness.share([{ name: 'real-12.png' }], { thread_ts: root.ts });
    const [reply] = await harness.waitForBotMessage(harness.general, root.ts);
    expect(reply?.thread_ts).toBe(root.ts);
    expect(messageText(reply!)).toContain('Likely real');
    expect(event.ts).not.toBe(root.ts);
    await new Promise((r) => setTimeout(r, 300));
    expect(harness.botMessages(harness.mods)).toHaveLength(0);
  });

  it('scans every image of a message, one reply each', async () => {
    const harness = await slack.start();
    const { event } = await harness.share([{ name: 'ai-91.png', seed: 1 }, { name: 'real-05.png', seed: 2 }, { name: 'notes.txt', mimetype: 'text/plain', bytes: Buffer.from('hi') }]);
    const replies = await harness.waitForBotMessage(harness.general, event.ts, 2);
    const texts = replies.map(messageText).join('\n');
    expect(texts).toContain('ai-91.png');
    expect(texts).toContain('real-05.png');
    expect(texts).not.toContain('notes.txt');
    expect(harness.backend.seen).toHaveLength(2);
  });

  it('ignores messages in unwatched channels, from bots, and edits', async () => {
    const harness = await slack.start({ settings: { unwatchedChannels: [] } });
    await harness.bot.settings.update('slack', harness.team.id, (s) => ({ ...s, unwatchedChannels: [harness.general.id] }));
    await harness.share([{ name: 'ai-99.png' }]);
    const file = harness.fake.addFile(harness.team.id, { name: 'ai-98.png', bytes: await png(9) });
    const team = harness.teamRef();
    const other = harness.fake.workspaces.addChannel(harness.team.id, { name: 'random', members: [harness.alice.id] });
    await harness.deliver('event', eventCallback(team, { type: 'message', subtype: 'file_share', channel: other.id, channel_type: 'channel', bot_id: 'B0OTHER', user: 'U0OTHERBOT', ts: '1700000000.000100', files: [file] }));
    await harness.deliver('event', eventCallback(team, { type: 'message', subtype: 'message_changed', channel: other.id, channel_type: 'channel', ts: '1700000000.000200', message: { files: [file] } }));
    await new Promise((r) => setTimeout(r, 400));
    expect(harness.fake.fileRequests).toHaveLength(0);
    expect(harness.botMessages(harness.general)).toHaveLength(0);
    expect(harness.botMessages(other)).toHaveLength(0);
  });

  it('reacts instead of replying in react mode, and stays quiet (alert only) in silent mode', async () => {
    const harness = await slack.start({ settings: { mode: 'react' } });
    await harness.bot.settings.update('slack', harness.team.id, (s) => ({ ...s, alertChannel: harness.mods.id }));
    const { event } = await harness.share([{ name: 'ai-95.png', seed: 3 }]);
    const stored = await waitFor(() => harness.fake.workspaces.message(harness.team.id, harness.general.id, event.ts)?.reactions?.[0], 15_000, 'a reaction');
    expect(stored.name).toBe(REACTIONS.ai);
    await harness.bot.settings.update('slack', harness.team.id, (s) => ({ ...s, mode: 'silent' }));
    const second = await harness.share([{ name: 'ai-96.png', seed: 4 }]);
    await harness.waitForBotMessage(harness.mods, undefined, 2);
    expect(harness.botMessages(harness.general)).toHaveLength(0);
    expect(harness.fake.workspaces.message(harness.team.id, harness.general.id, second.event.ts)?.reactions).toBeUndefined();
  });

  it('escapes a crafted file name so it cannot ping the channel or break the blocks', async () => {
    const harness = await slack.start();
    await harness.bot.settings.update('slack', harness.team.id, (s) => ({ ...s, alertChannel: harness.mods.id }));
    const name = `<!channel> ai-97 <https://evil.example|click> & ${'x'.repeat(400)}.png`;
    const { event } = await harness.share([{ name }]);
    const [reply] = await harness.waitForBotMessage(harness.general, event.ts);
    const [alert] = await harness.waitForBotMessage(harness.mods);
    for (const message of [reply!, alert!]) {
      const text = messageText(message);
      expect(text).not.toContain('<!channel>');
      expect(text).not.toContain('<https://evil');
      expect(text).toContain('&lt;!channel&gt;');
      expect(text).toContain('&amp;');
    }
  });
});

describe('Slack over HTTP: private file downloads', () => {
  it('reports Slack’s HTML login page as an auth error (files:read missing) and never runs a model on it', async () => {
    const harness = await slack.start({ botScopes: ['chat:write', 'channels:history', 'users:read'] });
    const { event } = await harness.share([{ name: 'ai-90.png' }]);
    const [reply] = await harness.waitForBotMessage(harness.general, event.ts);
    const text = messageText(reply!);
    expect(text).toContain('auth_failed');
    expect(text).toContain('files:read');
    expect(harness.fake.fileRequests[0]?.authorization).toBe(`Bearer ${harness.botToken}`);
    expect(harness.backend.seen).toHaveLength(0);
  });

  it('drops the Authorization header when the file host redirects to another host', async () => {
    const harness = await slack.start();
    const { event } = await harness.share([{ name: 'ai-92.png', redirectElsewhere: true }]);
    const [reply] = await harness.waitForBotMessage(harness.general, event.ts);
    expect(messageText(reply!)).toContain('0.92');
    const [first, second] = harness.fake.fileRequests;
    expect(first?.authorization).toBe(`Bearer ${harness.botToken}`);
    expect(second?.host.startsWith('127.0.0.2')).toBe(true);
    expect(second?.authorization).toBeUndefined();
  });
});

describe('Slack over HTTP: request verification', () => {
  it('rejects unsigned, badly signed and stale requests before anything is queued', async () => {
    const harness = await slack.start();
    const file = harness.fake.addFile(harness.team.id, { name: 'ai-99.png', bytes: await png(5) });
    const event = harness.fake.postUserMessage(harness.team.id, harness.general.id, harness.alice.id, { files: [file] });
    const body = eventCallback(harness.teamRef(), event);
    const unsigned = await sendToApp(harness.eventsUrl, { kind: 'json', value: body });
    const forged = await sendToApp(harness.eventsUrl, { kind: 'json', value: body }, { secret: 'not-the-secret' });
    const stale = await sendToApp(harness.eventsUrl, { kind: 'json', value: body }, { secret: harness.signingSecret, timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    const command = await sendToApp(
      harness.eventsUrl,
      { kind: 'form', fields: { command: '/aicheck', text: '', team_id: harness.team.id } },
      { secret: harness.signingSecret, signature: 'v0=deadbeef' },
    );
    expect([unsigned.status, forged.status, stale.status, command.status]).toEqual([401, 401, 401, 401]);
    await new Promise((r) => setTimeout(r, 400));
    expect(harness.fake.fileRequests).toHaveLength(0);
    expect(harness.botMessages(harness.general)).toHaveLength(0);
    // The same event, correctly signed, goes through.
    const signed = await harness.deliver('event', body);
    expect(signed.status).toBe(200);
    await harness.waitForBotMessage(harness.general, event.ts);
  });
});
