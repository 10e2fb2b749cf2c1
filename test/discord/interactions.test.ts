import { describe, expect, it } from 'vitest';
import type { FakeInteraction } from '../fakes/discord/fake-discord.js';
import { png, useDiscordHarness, type Harness } from './harness.js';

const discord = useDiscordHarness();

const EPHEMERAL = 64;

async function slashCheck(h: Harness, options: { file?: { name: string; size?: number; bytes?: Buffer }; url?: string }): Promise<FakeInteraction> {
  const opts: any[] = [];
  const resolved: any = {};
  if (options.file) {
    const a = h.fake.attachment({
      filename: options.file.name,
      bytes: options.file.bytes ?? (await png(21)),
      contentType: 'image/png',
      ...(options.file.size !== undefined ? { size: options.file.size } : {}),
    });
    opts.push({ name: 'image', type: 11, value: a.id });
    resolved.attachments = { [a.id]: { ...a, ephemeral: true } };
  }
  if (options.url) opts.push({ name: 'url', type: 3, value: options.url });
  return h.fake.slashCommand({ name: 'aicheck', options: opts, ...(resolved.attachments ? { resolved } : {}), member: h.member('alice'), channel: h.channel('random') });
}

describe('/aicheck', () => {
  it('defers ephemerally, then edits the reply with the verdict (attachment)', async () => {
    const h = await discord.start();
    const i = await slashCheck(h, { file: { name: 'ai-88.png' } });
    await h.fake.waitFor(() => i.edits[0], 'the edited reply');
    expect(i.callbacks[0]).toEqual({ type: 5, data: { flags: EPHEMERAL } });
    expect(i.edits).toHaveLength(1);
    expect(i.edits[0].embeds[0].title).toBe('🔴 Likely AI-generated');
    expect(i.edits[0].embeds[0].description).toContain('File: ai-88.png');
    expect(i.edits[0].allowed_mentions).toEqual({ parse: [], replied_user: false });
    // The PATCH went to the URL-encoded @original route, and no moderator alert for a private upload.
    expect(h.fake.requests.some((r) => r.method === 'PATCH' && r.path.endsWith('/messages/@original'))).toBe(true);
    expect(h.sentTo('mod-alerts')).toHaveLength(0);
  });

  it('checks a URL', async () => {
    const h = await discord.start();
    const a = h.fake.attachment({ filename: 'real-15.png', bytes: await png(22), contentType: 'image/png' });
    const i = await slashCheck(h, { url: a.proxy_url });
    await h.fake.waitFor(() => i.edits[0], 'the edited reply');
    expect(i.callbacks[0]).toEqual({ type: 5, data: { flags: EPHEMERAL } });
    expect(i.edits[0].embeds[0].title).toBe('🟢 Likely real');
    expect(i.edits[0].embeds[0].description).toContain('File: real-15.png');
    expect(i.edits[0].embeds[0].color).toBe(0x2ea043);
  });

  it('refuses a 15 MB attachment at once, and an empty request, in plain words', async () => {
    const h = await discord.start();
    const big = await slashCheck(h, { file: { name: 'big.png', size: 15 * 1024 * 1024 } });
    await h.fake.waitFor(() => big.edits[0], 'the answer');
    expect(big.edits[0].content).toBe('⚠️ **big.png**: This image is too large for me to check (15.0 MB; the limit is 10.0 MB).');
    const none = await slashCheck(h, {});
    await h.fake.waitFor(() => none.edits[0], 'the answer');
    expect(none.edits[0].content).toMatch(/attach it with the `image` option, or paste a link/);
    expect(h.backend.seen).toHaveLength(0);
  });
});

describe('"Check for AI" message command', () => {
  it('checks every image of the message: a summary, then one ephemeral follow-up per image', async () => {
    const h = await discord.start();
    const target = await h.post('random', [{ name: 'ai-90.png', seed: 31 }, { name: 'real-30.png', seed: 32 }, { name: 'notes.txt', bytes: Buffer.from('hi'), contentType: 'text/plain' }]);
    const i = h.fake.messageCommand({ name: 'Check for AI', target, member: h.member('alice'), channel: h.channel('random') });
    await h.fake.waitFor(() => i.followUps.length === 2, "two follow-ups");
    expect(i.callbacks[0]).toEqual({ type: 5, data: { flags: EPHEMERAL } });
    expect(i.edits[0].content).toBe('Checking 2 images…');
    expect(i.followUps.every((f) => f.flags === EPHEMERAL)).toBe(true);
    expect(i.followUps.map((f) => f.embeds[0].title).sort()).toEqual(['🔴 Likely AI-generated', '🟢 Likely real']);
    // The message is public, so the likely-AI one also reaches moderators once they set a channel… (none set here)
    expect(h.sentTo('mod-alerts')).toHaveLength(0);
  });

  it('says so when the message has no image', async () => {
    const h = await discord.start();
    const target = h.fake.postMessage({ channelId: h.channel('random').id, author: h.member('alice').user, content: 'just text' });
    const i = h.fake.messageCommand({ name: 'Check for AI', target, member: h.member('alice'), channel: h.channel('random') });
    await h.fake.waitFor(() => i.edits[0], 'the answer');
    expect(i.edits[0].content).toBe('I found no images in that message.');
  });
});

describe('alert buttons', () => {
  async function alertFor(h: Harness, name: string, seed: number) {
    const posted = await h.post('general', [{ name, seed }]);
    const alert = await h.fake.waitFor(() => h.sentTo('mod-alerts').find((s) => s.body.embeds[0].description.includes(posted.id)), 'the alert');
    const [del, dismiss] = alert.body.components[0].components;
    return { posted, alert, deleteId: del.custom_id as string, dismissId: dismiss.custom_id as string };
  }

  it('Delete: refused without Manage Messages, done with it, and both recorded', async () => {
    const h = await discord.start();
    await h.watch();
    const { posted, alert, deleteId } = await alertFor(h, 'ai-95.png', 41);

    const denied = h.fake.clickButton({ message: alert.message, customId: deleteId, member: h.member('alice') });
    await h.fake.waitFor(() => denied.callbacks[0], 'the refusal');
    expect(denied.callbacks[0]).toMatchObject({ type: 4, data: { flags: EPHEMERAL } });
    expect(denied.callbacks[0]!.data.content).toMatch(/Manage Messages/);
    expect(h.fake.deleted).toHaveLength(0);

    const ok = h.fake.clickButton({ message: alert.message, customId: deleteId, member: h.member('mod') });
    await h.fake.waitFor(() => ok.callbacks[0], 'the update');
    expect(h.fake.deleted).toEqual([{ channelId: h.channel('general').id, messageId: posted.id }]);
    expect(ok.callbacks[0]!.type).toBe(7);
    const updated = ok.callbacks[0]!.data;
    expect(updated.embeds[0].fields.at(-1).value).toContain(`deleted by <@${h.member('mod').user.id}>`);
    expect(updated.components).toEqual([]);
    const audit = await h.bot.alerts.auditTrail(h.guild.id);
    expect(audit.map((e) => [e.action, e.userId])).toEqual([
      ['deleted', h.member('mod').user.id],
      ['denied', h.member('alice').user.id],
    ]);
  });

  it('Dismiss: remembered, so a repost of the same image is not alerted again', async () => {
    const h = await discord.start();
    await h.watch();
    const { alert, dismissId } = await alertFor(h, 'ai-97.png', 51);
    const denied = h.fake.clickButton({ message: alert.message, customId: dismissId, member: h.member('alice') });
    await h.fake.waitFor(() => denied.callbacks[0], 'the refusal');
    expect(denied.callbacks[0]!.data.content).toMatch(/Manage Messages/);
    expect(await h.redisClient.keys(`${h.prefix}:discord:dismissed:*`)).toEqual([]);

    const click = h.fake.clickButton({ message: alert.message, customId: dismissId, member: h.member('mod') });
    await h.fake.waitFor(() => click.callbacks[0], 'the update');
    expect(click.callbacks[0]!.data.embeds[0].fields.at(-1).value).toMatch(/Dismissed as a false positive by/);
    expect(click.callbacks[0]!.data.components[0].components.map((b: any) => b.label)).toEqual(['Open']);

    const repost = await h.post('general', [{ name: 'ai-97.png', seed: 51 }]);
    const reply = await h.fake.waitFor(() => h.repliesTo(repost.id)[0], 'the repost reply');
    expect(reply.body.embeds[0].title).toBe('🔴 Likely AI-generated');
    // A different AI image still alerts: only the dismissed picture is quiet.
    const other = await h.post('general', [{ name: 'ai-96.png', seed: 52 }]);
    await h.fake.waitFor(() => h.sentTo('mod-alerts').find((s) => s.body.embeds[0].description.includes(other.id)), 'the other alert');
    expect(h.sentTo('mod-alerts').filter((s) => s.body.embeds[0].description.includes(repost.id))).toHaveLength(0);
    expect(h.sentTo('mod-alerts')).toHaveLength(2);
    expect((await h.bot.alerts.auditTrail(h.guild.id)).map((e) => e.action)).toEqual(['dismissed', 'denied']);
  });
});
