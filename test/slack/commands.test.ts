import { describe, expect, it } from 'vitest';
import { messageText, png, useSlackHarness, type SlackHarness } from './harness.js';

const slack = useSlackHarness({ transport: 'http' });

async function start(): Promise<SlackHarness> {
  const h = await slack.start();
  await h.bot.settings.update('slack', h.team.id, (s) => ({ ...s, alertChannel: h.mods.id }));
  return h;
}

describe('/aicheck', () => {
  it('acknowledges at once and answers a URL on the response_url, ephemeral, without sending the bot token', async () => {
    const harness = await start();
    const file = harness.fake.addFile(harness.team.id, { name: 'ai-94.png', bytes: await png(11) });
    const url = harness.fake.publicUrl(file);
    const { responseUrl, answer } = await harness.command('/aicheck', `<${url}>`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('Checking') });
    const [post] = await harness.waitForResponse(responseUrl);
    expect(post).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(messageText(post!)).toContain('AI score 0.94');
    expect(harness.fake.fileRequests).toHaveLength(1);
    expect(harness.fake.fileRequests[0]?.authorization).toBeUndefined();
    // A bare URL is no message: nothing to moderate, no alert.
    await new Promise((r) => setTimeout(r, 300));
    expect(harness.botMessages(harness.mods)).toHaveLength(0);
  });

  it('sends the bot token only to Slack’s file host', async () => {
    const harness = await start();
    const file = harness.fake.addFile(harness.team.id, { name: 'real-20.png', bytes: await png(12) });
    const { responseUrl } = await harness.command('/aicheck', String(file['url_private_download']));
    const [post] = await harness.waitForResponse(responseUrl);
    expect(messageText(post!)).toContain('Likely real');
    expect(harness.fake.fileRequests[0]?.authorization).toBe(`Bearer ${harness.botToken}`);
  });

  it('without a URL checks the most recent image in the channel and alerts on it', async () => {
    const harness = await start();
    const old = harness.fake.addFile(harness.team.id, { name: 'real-10.png', bytes: await png(13) });
    const recent = harness.fake.addFile(harness.team.id, { name: 'ai-88.png', bytes: await png(14) });
    harness.fake.postUserMessage(harness.team.id, harness.general.id, harness.alice.id, { files: [old] });
    const posted = harness.fake.postUserMessage(harness.team.id, harness.general.id, harness.alice.id, { files: [recent] });
    harness.fake.postUserMessage(harness.team.id, harness.general.id, harness.alice.id, { text: 'no image here' });
    const { responseUrl, answer } = await harness.command('/aicheck', '');
    expect(answer.body).toMatchObject({ text: expect.stringContaining('latest image') });
    const [post] = await harness.waitForResponse(responseUrl);
    expect(messageText(post!)).toContain('ai-88.png');
    expect(messageText(post!)).toContain('0.88');
    const [alert] = await harness.waitForBotMessage(harness.mods);
    expect(messageText(alert!)).toContain(`p${posted.ts.replace('.', '')}`);
    expect(harness.fake.api.calls.some((c) => c.method === 'conversations.history' && c.params['channel'] === harness.general.id)).toBe(true);
  });

  it('says so when there is no recent image, or the argument is not a URL', async () => {
    const harness = await start();
    harness.fake.postUserMessage(harness.team.id, harness.general.id, harness.alice.id, { text: 'just text' });
    const { responseUrl } = await harness.command('/aicheck', '');
    const [post] = await harness.waitForResponse(responseUrl);
    expect(String(post?.['text'])).toContain('no image');
    const bad = await harness.command('/aicheck', 'not a url');
    expect(bad.answer.body).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('https://') });
  });
});

describe('the "Check for AI" message shortcut', () => {
  it('checks the images of the chosen message and answers the requester', async () => {
    const harness = await start();
    const a = harness.fake.addFile(harness.team.id, { name: 'ai-81.png', bytes: await png(15) });
    const b = harness.fake.addFile(harness.team.id, { name: 'real-02.png', bytes: await png(16) });
    const message = harness.fake.postUserMessage(harness.team.id, harness.general.id, harness.alice.id, { files: [a, b] });
    const { responseUrl, answer } = await harness.shortcut(message, harness.admin);
    expect(answer.status).toBe(200);
    const posts = await harness.waitForResponse(responseUrl, 2);
    const all = posts.map(messageText).join('\n');
    expect(all).toContain('ai-81.png');
    expect(all).toContain('real-02.png');
    expect(posts.every((p) => p['response_type'] === 'ephemeral')).toBe(true);
    await harness.waitForBotMessage(harness.mods);
  });

  it('explains when the message has no image', async () => {
    const harness = await start();
    const message = harness.fake.postUserMessage(harness.team.id, harness.general.id, harness.alice.id, { text: 'hello' });
    const { responseUrl } = await harness.shortcut(message);
    const [post] = await harness.waitForResponse(responseUrl);
    expect(String(post?.['text'])).toContain('no image');
  });
});
