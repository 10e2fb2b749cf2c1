import { describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../src/queue/queue-layout.js';
import { scanJobId } from '../../src/queue/scan-job.js';
import { Queue } from 'bullmq';
import { png, useDiscordHarness } from './harness.js';

const discord = useDiscordHarness();

describe('automatic scans', () => {
  it('replies to an image in a watched channel and alerts moderators when it is likely AI', async () => {
    const h = await discord.start();
    await h.watch();
    const posted = await h.post('general', [{ name: 'ai-93.png' }]);

    const reply = await h.fake.waitFor(() => h.repliesTo(posted.id)[0], 'the reply');
    expect(reply.body.allowed_mentions).toEqual({ parse: [], replied_user: false });
    expect(reply.body.message_reference).toMatchObject({ message_id: posted.id, fail_if_not_exists: false });
    expect(reply.body.nonce).toMatch(/^[0-9a-f]{24}$/);
    const embed = reply.body.embeds[0];
    expect(embed.title).toBe('🔴 Likely AI-generated');
    expect(embed.color).toBe(0xd83c3e);
    expect(embed.description).toContain('AI score 0.93');
    expect(embed.description).toContain('fake-vit');
    expect(embed.description).toContain('fake-cnn');
    expect(embed.description).toContain('2/3 models answered');
    expect(embed.footer.text).toMatch(/Detectors can be wrong/);

    const alert = await h.fake.waitFor(() => h.sentTo('mod-alerts')[0], 'the alert');
    const a = alert.body.embeds[0];
    expect(a.thumbnail.url).toContain('/cdn/attachments/');
    expect(a.description).toContain(`<@${h.member('alice').user.id}>`);
    expect(a.description).toContain(`<#${h.channel('general').id}>`);
    expect(a.description).toContain(`https://discord.com/channels/${h.guild.id}/${h.channel('general').id}/${posted.id}`);
    expect(alert.body.allowed_mentions.parse).toEqual([]);
    const buttons = alert.body.components[0].components;
    expect(buttons.map((b: any) => b.label)).toEqual(['Delete message', 'Dismiss (false positive)', 'Open']);
    expect(buttons[2].url).toContain(posted.id);
    // The worker downloaded the attachment from the fake CDN.
    expect(h.backend.seen).toHaveLength(1);
  });

  it('scans every image of a message, and threads of watched channels, without alerting below the threshold', async () => {
    const h = await discord.start();
    await h.watch();
    const posted = await h.post('general', [{ name: 'real-10.png', seed: 1 }, { name: 'mid-55.jpg', seed: 2 }]);
    const inThread = await h.post('general-thread', [{ name: 'real-20.png', seed: 3 }]);

    const replies = await h.fake.waitFor(() => (h.repliesTo(posted.id).length === 2 ? h.repliesTo(posted.id) : undefined), 'two replies');
    const titles = replies.map((r) => r.body.embeds[0].title).sort();
    expect(titles).toEqual(['🟠 Uncertain', '🟢 Likely real']);
    const threadReply = await h.fake.waitFor(() => h.repliesTo(inThread.id)[0], 'thread reply');
    expect(threadReply.channelId).toBe(h.channel('general-thread').id);
    expect(h.sentTo('mod-alerts')).toHaveLength(0);
  });

  it('ignores unwatched channels and bots', async () => {
    const h = await discord.start();
    await h.watch();
    const unwatched = await h.post('random', [{ name: 'ai-99.png', seed: 5 }]);
    const fromBot = await h.post('general', [{ name: 'ai-98.png', seed: 6 }], 'otherbot');
    // A control message in a watched channel, posted after the others: once it is answered the
    // gateway has delivered (and the bot handled) the earlier ones.
    const control = await h.post('general', [{ name: 'real-05.png', seed: 7 }]);
    await h.fake.waitFor(() => h.repliesTo(control.id)[0], 'the control reply');

    expect(h.repliesTo(unwatched.id)).toHaveLength(0);
    expect(h.repliesTo(fromBot.id)).toHaveLength(0);
    expect(h.sentTo('random')).toHaveLength(0);
    expect(h.sentTo('mod-alerts')).toHaveLength(0);
    const queue = new Queue(QUEUE_NAMES.detect, { connection: h.redisClient, prefix: h.prefix });
    const ids = [unwatched, fromBot].map((m) => scanJobId('discord', h.guild.id, m.channel_id, m.id, (m.attachments as any[])[0].id));
    expect(await Promise.all(ids.map((id) => queue.getJob(id)))).toEqual([undefined, undefined]);
    await queue.close();
    expect(h.backend.seen).toHaveLength(1);
  });

  it('scans image links when enabled, once their preview arrives (MESSAGE_UPDATE), through the media proxy', async () => {
    const h = await discord.start();
    await h.watch({ scanEmbeds: true });
    const proxied = h.fake.attachment({ filename: 'ai-83.png', bytes: await png(11), contentType: 'image/png' });
    const posted = h.fake.postMessage({ channelId: h.channel('general').id, author: h.member('alice').user, content: 'look https://example.com/ai-83.png' });
    const embed = { type: 'image', url: 'https://example.com/ai-83.png', thumbnail: { url: 'https://example.com/ai-83.png', proxy_url: proxied.proxy_url, width: 96, height: 64 } };
    h.fake.updateMessage(posted.id, { embeds: [embed] });
    h.fake.updateMessage(posted.id, { embeds: [embed], content: 'look https://example.com/ai-83.png (edited)' });
    const reply = await h.fake.waitFor(() => h.repliesTo(posted.id)[0], 'the reply');
    expect(reply.body.embeds[0].description).toContain('File: ai-83.png');
    expect(reply.body.embeds[0].title).toBe('🔴 Likely AI-generated');
    await h.fake.waitFor(() => h.sentTo('mod-alerts')[0], 'the alert');
    // Two updates with the same preview: one scan.
    expect(h.backend.seen).toHaveLength(1);
    expect(h.repliesTo(posted.id)).toHaveLength(1);
  });

  it('escapes crafted file names and never lets them mention anyone', async () => {
    const h = await discord.start();
    await h.watch();
    const posted = await h.post('general', [{ name: '@everyone **ai-91** [click](https://evil.example) <@&1>.png' }]);
    const reply = await h.fake.waitFor(() => h.repliesTo(posted.id)[0], 'the reply');
    const text: string = reply.body.embeds[0].description;
    expect(text).not.toContain('@everyone');
    expect(text).toContain('@\u200beveryone');
    expect(text).toContain('\\*\\*ai-91\\*\\*');
    expect(text).toContain('\\[click](https\\://evil.example)');
    expect(text).not.toMatch(/(?<!\\)\[click\]\(/);
    expect(text).not.toContain('<@&1>');
    expect(reply.body.allowed_mentions).toEqual({ parse: [], replied_user: false });
    const alert = await h.fake.waitFor(() => h.sentTo('mod-alerts')[0], 'the alert');
    expect(alert.body.embeds[0].description).not.toContain('@everyone');
  });

  it('answers a 15 MB attachment with a clear "too large", whether Discord announced the size or not', async () => {
    const h = await discord.start();
    await h.watch();
    const big = await h.post('general', [{ name: 'huge.png', bytes: Buffer.alloc(1024), size: 15 * 1024 * 1024 }]);
    const r1 = await h.fake.waitFor(() => h.repliesTo(big.id)[0], 'the too-large reply');
    expect(r1.body.content).toBe('⚠️ **huge.png**: This image is too large for me to check (15.0 MB; the limit is 10.0 MB).');

    // The size Discord announced was wrong: the worker's download limit catches it.
    const real = Buffer.concat([await png(9), Buffer.alloc(15 * 1024 * 1024)]);
    const lying = await h.post('general', [{ name: 'sneaky.png', bytes: real, size: 2048 }]);
    const r2 = await h.fake.waitFor(() => h.repliesTo(lying.id)[0], 'the worker too-large reply', 20_000);
    expect(r2.body.content).toMatch(/^⚠️ \*\*sneaky\.png\*\*: This image is too large for me to check \(the limit is 10\.0 MB\)\.$/);
    expect(h.backend.seen).toHaveLength(0);
  });
});
