import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_DELETE, ACTION_DISMISS } from '../../src/bots/slack/result-blocks.js';
import type { FakeInteraction } from '../fakes/discord/fake-discord.js';
import type { FakeMember } from '../fakes/discord/payloads.js';
import { Harness } from '../discord/harness.js';
import { TestRedis } from '../queue/helpers/redis-server.js';
import { SlackHarness, messageText } from '../slack/harness.js';

/**
 * Every moderator action refused to a user without the right, in both adapters. test/discord and
 * test/slack check one subcommand and the buttons; this walks every settings subcommand and both
 * buttons, and checks that a refusal changed nothing. (API keys are managed with `genguard keys`
 * on the server, not from chat; test/server/api.test.ts covers requests with missing, unknown and
 * revoked keys.)
 */

const redis = new TestRedis();
let discord: Harness | undefined;
let slack: SlackHarness | undefined;

beforeAll(() => redis.start());
afterAll(() => redis.destroy());
afterEach(async () => {
  await discord?.close();
  await slack?.close();
  discord = undefined;
  slack = undefined;
});

function aiscan(h: Harness, sub: string, options: any[], member: FakeMember): FakeInteraction {
  const resolved: any = {};
  for (const o of options) {
    if (o.type === 7) {
      const c = h.fake.channel(o.value);
      resolved.channels = { ...resolved.channels, [c.id]: { id: c.id, name: c.name, type: c.type ?? 0, permissions: '0' } };
    }
  }
  return h.fake.slashCommand({ name: 'aiscan', options: [{ name: sub, type: 1, options }], ...(resolved.channels ? { resolved } : {}), member, channel: h.channel('random') });
}

async function answer(h: Harness, i: FakeInteraction): Promise<string> {
  await h.fake.waitFor(() => i.edits[0] ?? (i.callbacks[0]?.type === 4 ? i.callbacks[0] : undefined), 'the answer');
  return i.edits[0]?.content ?? i.callbacks[0]!.data.content;
}

describe('Discord: moderator actions without the permission', () => {
  it('every /aiscan subcommand is refused without Manage Server, and nothing changes', async () => {
    discord = await Harness.start(redis);
    const h = discord;
    await h.watch();
    const general = h.channel('general').id;
    const random = h.channel('random').id;
    const before = JSON.stringify(await h.settings.get('discord', h.guild.id));
    const subcommands: Array<[string, any[]]> = [
      ['status', []],
      ['watch', [{ name: 'channel', type: 7, value: random }]],
      ['unwatch', [{ name: 'channel', type: 7, value: general }]],
      ['alerts', [{ name: 'channel', type: 7, value: random }]],
      ['threshold', [{ name: 'value', type: 10, value: 0.2 }]],
      ['uncertain', [{ name: 'value', type: 10, value: 0.1 }]],
      ['mode', [{ name: 'value', type: 3, value: 'silent' }]],
      ['backend', [{ name: 'value', type: 3, value: 'bijou' }]],
      ['links', [{ name: 'enabled', type: 5, value: true }]],
      ['stickers', [{ name: 'enabled', type: 5, value: true }]],
      ['off', []],
      ['on', []],
    ];
    // alice: a member; mod: Manage Messages but not Manage Server.
    for (const who of ['alice', 'mod'] as const) {
      for (const [sub, options] of subcommands) {
        const text = await answer(h, aiscan(h, sub, options, h.member(who)));
        expect(text, `${who} /aiscan ${sub}`).toMatch(/Manage Server/);
      }
    }
    expect(JSON.stringify(await h.settings.get('discord', h.guild.id))).toBe(before);
    // And the admin is not refused (the refusal above is about the permission, not the command).
    expect(await answer(h, aiscan(h, 'threshold', [{ name: 'value', type: 10, value: 0.8 }], h.member('admin')))).toMatch(/0\.80/);
  });

  it('alert buttons: refused without Manage Messages, and a forged or unknown alert id does nothing', async () => {
    discord = await Harness.start(redis);
    const h = discord;
    await h.watch();
    const posted = await h.post('general', [{ name: 'ai-96.png', seed: 301 }]);
    const alert = await h.fake.waitFor(() => h.sentTo('mod-alerts').find((s) => s.body.embeds[0].description.includes(posted.id)), 'the alert');
    const [del, dismiss] = alert.body.components[0].components as Array<{ custom_id: string }>;
    for (const customId of [del!.custom_id, dismiss!.custom_id]) {
      const click = h.fake.clickButton({ message: alert.message, customId, member: h.member('alice') });
      await h.fake.waitFor(() => click.callbacks[0], 'the refusal');
      expect(click.callbacks[0]!.data.content).toMatch(/Manage Messages/);
    }
    // A moderator clicking a forged id (an alert that does not exist) changes nothing either.
    const forged = h.fake.clickButton({ message: alert.message, customId: 'gg:alert:delete:0123456789abcdef', member: h.member('mod') });
    await h.fake.waitFor(() => forged.callbacks[0], 'the answer to a forged id');
    expect(forged.callbacks[0]!.data.content).toMatch(/too old/);
    expect(h.fake.deleted).toEqual([]);
    expect(await h.redisClient.keys(`${h.prefix}:discord:dismissed:*`)).toEqual([]);
  });
});

describe('Slack: moderator actions without the permission', () => {
  async function aiscanSlack(h: SlackHarness, text: string, user = h.alice): Promise<string> {
    const { responseUrl } = await h.command('/aiscan', text, { user });
    const [post] = await h.waitForResponse(responseUrl);
    return String(post?.['text']);
  }

  it('every /aiscan subcommand is refused to a member who is not an admin, and nothing changes', async () => {
    slack = await SlackHarness.start(redis, { transport: 'http' });
    const h = slack;
    const before = JSON.stringify(await h.bot.settings.get('slack', h.team.id));
    for (const text of ['status', 'watch', 'unwatch', `watch <#${h.general.id}|general>`, `alerts <#${h.mods.id}|mod-alerts>`, 'threshold 0.2', 'mode silent', 'mode react', 'backend bijou', 'off', 'on']) {
      expect(await aiscanSlack(h, text), `/aiscan ${text}`).toContain('Only workspace admins');
    }
    expect(JSON.stringify(await h.bot.settings.get('slack', h.team.id))).toBe(before);
  });

  it('Delete and Dismiss are refused to a member even with an admin token configured; the message stays', async () => {
    slack = await SlackHarness.start(redis, { transport: 'http', adminToken: true });
    const h = slack;
    await h.bot.settings.update('slack', h.team.id, (s) => ({ ...s, alertChannel: h.mods.id }));
    const { event } = await h.share([{ name: 'ai-97.png' }]);
    const [alert] = await h.waitForBotMessage(h.mods);
    for (const action of [ACTION_DELETE, ACTION_DISMISS]) {
      const { responseUrl } = await h.click(alert!, action, h.alice);
      const [refusal] = await h.waitForResponse(responseUrl);
      expect(String(refusal?.['text']), action).toContain('Only workspace admins');
    }
    expect(h.fake.workspaces.message(h.team.id, h.general.id, event.ts)).toBeDefined();
    expect(h.fake.api.calls.some((c) => c.method === 'chat.delete' || c.method === 'files.delete')).toBe(false);
    expect(messageText(alert!)).toContain(ACTION_DELETE);
    expect(await h.redisClient.keys(`${h.prefix}:slack:dismissed:*`)).toEqual([]);
  });
});
