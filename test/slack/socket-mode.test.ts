import { describe, expect, it } from 'vitest';
import { ACTION_DISMISS } from '../../src/bots/slack/result-blocks.js';
import { messageText, png, useSlackHarness, waitFor } from './harness.js';

const slack = useSlackHarness({ transport: 'socket' });

describe('Slack over Socket Mode', () => {
  it('connects with the app token, acks every envelope, and scans shared images', async () => {
    const harness = await slack.start();
    expect(harness.fake.socket.connections).toBe(1);
    const open = harness.fake.api.calls.find((c) => c.method === 'apps.connections.open');
    expect(open?.token?.startsWith('xapp-')).toBe(true);
    // No HTTP receiver in Socket Mode.
    expect(harness.bot.port).toBeUndefined();

    await harness.bot.settings.update('slack', harness.team.id, (s) => ({ ...s, alertChannel: harness.mods.id }));
    const acksBefore = harness.fake.socket.acks.length;
    const { event } = await harness.share([{ name: 'ai-93.png' }]);
    expect(harness.fake.socket.acks.length).toBe(acksBefore + 1);
    const [reply] = await harness.waitForBotMessage(harness.general, event.ts);
    expect(messageText(reply!)).toContain('Likely AI-generated');
    const [alert] = await harness.waitForBotMessage(harness.mods);

    // Interactivity over the socket too.
    await harness.click(alert!, ACTION_DISMISS, harness.admin);
    await waitFor(() => messageText(alert!).includes('Dismissed'), 15_000, 'the dismissed alert');
  });

  it('answers /aicheck in the ack and then on the response_url', async () => {
    const harness = await slack.start();
    const file = harness.fake.addFile(harness.team.id, { name: 'real-07.png', bytes: await png(21) });
    harness.fake.postUserMessage(harness.team.id, harness.general.id, harness.alice.id, { files: [file] });
    const { responseUrl, answer } = await harness.command('/aicheck', '');
    expect(answer.body).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('latest image') });
    const [post] = await harness.waitForResponse(responseUrl);
    expect(messageText(post!)).toContain('Likely real');
  });

  it('disconnects on stop and does not reconnect', async () => {
    const harness = await slack.start();
    await harness.bot.stop();
    await waitFor(() => !harness.fake.socket.connected, 5_000, 'the socket to close');
    await new Promise((r) => setTimeout(r, 300));
    expect(harness.fake.socket.connections).toBe(1);
  });
});
