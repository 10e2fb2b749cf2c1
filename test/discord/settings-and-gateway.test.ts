import { describe, expect, it } from 'vitest';
import { MESSAGE_CONTENT_INTENT, type FakeInteraction } from '../fakes/discord/fake-discord.js';
import type { FakeMember } from '../fakes/discord/payloads.js';
import { useDiscordHarness, type Harness } from './harness.js';

const discord = useDiscordHarness();

function aiscan(h: Harness, sub: string, options: any[] = [], member: FakeMember = h.member('admin')): FakeInteraction {
  const resolved: any = {};
  for (const o of options) {
    if (o.type === 7) {
      const c = h.fake.channel(o.value);
      resolved.channels = { ...resolved.channels, [c.id]: { id: c.id, name: c.name, type: c.type ?? 0, permissions: '0' } };
    }
  }
  return h.fake.slashCommand({
    name: 'aiscan',
    options: [{ name: sub, type: 1, options }],
    ...(resolved.channels ? { resolved } : {}),
    member,
    channel: h.channel('random'),
  });
}

async function answer(h: Harness, i: FakeInteraction): Promise<string> {
  await h.fake.waitFor(() => i.edits[0] ?? (i.callbacks[0]?.type === 4 ? i.callbacks[0] : undefined), 'the answer');
  return i.edits[0]?.content ?? i.callbacks[0]!.data.content;
}

describe('/aiscan settings', () => {
  it('registers the commands on start-up, in the dev guild when set', async () => {
    const h = await discord.start({ devGuild: true });
    const commands = h.fake.commands.guild[h.guild.id]!;
    expect(commands.map((c) => c.name)).toEqual(['aicheck', 'Check for AI', 'aiscan']);
    expect(commands.find((c) => c.name === 'aiscan')!.default_member_permissions).toBe('32');
    expect(h.fake.commands.global).toBeUndefined();
  });

  it('is restricted to Manage Server, changes settings, and keeps them across a bot restart', async () => {
    const h = await discord.start();
    expect(h.fake.commands.global?.map((c) => c.name)).toEqual(['aicheck', 'Check for AI', 'aiscan']);
    const denied = aiscan(h, 'watch', [{ name: 'channel', type: 7, value: h.channel('general').id }], h.member('mod'));
    expect(await answer(h, denied)).toMatch(/Manage Server/);
    expect((await h.settings.get('discord', h.guild.id)).watchedChannels).toEqual([]);

    const general = h.channel('general').id;
    const alerts = h.channel('mod-alerts').id;
    expect(await answer(h, aiscan(h, 'watch', [{ name: 'channel', type: 7, value: general }]))).toBe(`Now watching <#${general}> and its threads.`);
    expect(await answer(h, aiscan(h, 'alerts', [{ name: 'channel', type: 7, value: alerts }]))).toContain(`<#${alerts}>`);
    expect(await answer(h, aiscan(h, 'threshold', [{ name: 'value', type: 10, value: 0.8 }]))).toBe('Alerts for AI scores ≥ 0.80.');
    expect(await answer(h, aiscan(h, 'uncertain', [{ name: 'value', type: 10, value: 0.9 }]))).toMatch(/must start at or below the alert threshold/);
    expect(await answer(h, aiscan(h, 'uncertain', [{ name: 'value', type: 10, value: 0.3 }]))).toMatch(/0\.30 to 0\.80/);
    expect(await answer(h, aiscan(h, 'mode', [{ name: 'value', type: 3, value: 'react' }]))).toContain('react');
    expect(await answer(h, aiscan(h, 'backend', [{ name: 'value', type: 3, value: 'bijou' }]))).toContain('bijou');

    await h.restartBot();
    const status = await answer(h, aiscan(h, 'status'));
    expect(status).toContain(`**Watched channels:** <#${general}>`);
    expect(status).toContain(`**Alert channel:** <#${alerts}>`);
    expect(status).toContain('**Alert threshold:** 0.80');
    expect(status).toContain('**Uncertain band:** 0.30–0.80');
    expect(status).toContain('**Reply mode:** react');
    expect(status).toContain('**Backend:** bijou');

    // The restarted bot acts on them: react mode, and the server's threshold (0.75 < 0.80: no alert).
    const posted = await h.post('general', [{ name: 'ai-75.png', seed: 61 }]);
    const reaction = await h.fake.waitFor(() => h.fake.reactions.find((r) => r.messageId === posted.id), 'the reaction');
    expect(reaction.emoji).toBe('🟠');
    const second = await h.post('general', [{ name: 'ai-85.png', seed: 62 }]);
    await h.fake.waitFor(() => h.fake.reactions.find((r) => r.messageId === second.id), 'the second reaction');
    await h.fake.waitFor(() => h.sentTo('mod-alerts')[0], 'the alert');
    expect(h.sentTo('mod-alerts')).toHaveLength(1);
    expect(h.repliesTo(posted.id)).toHaveLength(0);
  });

  it('off stops automatic scans; silent mode only alerts', async () => {
    const h = await discord.start();
    await h.watch({ mode: 'silent' });
    const quiet = await h.post('general', [{ name: 'ai-90.png', seed: 71 }]);
    await h.fake.waitFor(() => h.sentTo('mod-alerts')[0], 'the alert');
    expect(h.repliesTo(quiet.id)).toHaveLength(0);
    expect(h.fake.reactions).toHaveLength(0);

    expect(await answer(h, aiscan(h, 'off'))).toMatch(/off/);
    await h.post('general', [{ name: 'ai-91.png', seed: 72 }]);
    expect(await answer(h, aiscan(h, 'on'))).toMatch(/on/);
    const control = await h.post('general', [{ name: 'ai-92.png', seed: 73 }]);
    await h.fake.waitFor(() => h.sentTo('mod-alerts').find((s) => s.body.embeds[0].description.includes(control.id)), 'the control alert');
    expect(h.sentTo('mod-alerts')).toHaveLength(2);
    expect(h.backend.seen).toHaveLength(2);
  });
});

describe('REST and gateway resilience', () => {
  it('rides out a 429 from the REST API (retry_after, X-RateLimit headers) and still posts', async () => {
    const h = await discord.start();
    await h.watch();
    const channel = h.channel('general').id;
    h.fake.rateLimitNext('POST', new RegExp(`^/channels/${channel}/messages$`), 0.3);
    const posted = await h.post('general', [{ name: 'real-25.png', seed: 81 }]);
    const reply = await h.fake.waitFor(() => h.repliesTo(posted.id)[0], 'the reply after the 429');
    expect(reply.body.embeds[0].title).toBe('🟢 Likely real');
    const attempts = h.fake.requests.filter((r) => r.method === 'POST' && r.path === `/channels/${channel}/messages`);
    expect(attempts.map((r) => r.status)).toEqual([429, 200]);
    expect(h.repliesTo(posted.id)).toHaveLength(1);
  });

  it('resumes after op 7 RECONNECT without losing the events sent meanwhile', async () => {
    const h = await discord.start();
    await h.watch();
    const sessionId = h.fake.gateway.sessionId;
    h.fake.gateway.requestReconnect();
    // Dispatched while the bot is between connections: Discord replays it on RESUME.
    const posted = await h.post('general', [{ name: 'ai-80.png', seed: 91 }]);
    const reply = await h.fake.waitFor(() => h.repliesTo(posted.id)[0], 'the reply to the replayed message');
    expect(reply.body.embeds[0].title).toBe('🔴 Likely AI-generated');
    expect(h.fake.gateway.stats.identifies).toHaveLength(1);
    expect(h.fake.gateway.stats.resumes).toHaveLength(1);
    expect(h.fake.gateway.stats.resumes[0]!.sessionId).toBe(sessionId);
    expect(h.fake.gateway.stats.closes[0]).toBe(4200);
    // Plain JSON on the wire: no zlib stream compression requested.
    expect(h.fake.gateway.stats.connections.every((c) => c.url.includes('encoding=json') && !c.url.includes('compress'))).toBe(true);
    expect(h.fake.gateway.stats.identifies[0]!.compress).toBe(false);
    // Heartbeats go on over the resumed connection and are acknowledged (discord.js measures the ping).
    await h.fake.waitFor(() => h.fake.gateway.stats.heartbeats > 0 && h.bot.client!.ws.ping >= 0, 'an acknowledged heartbeat');
  });

  it('keeps serving interactions when the Message Content intent is refused (4014)', async () => {
    const h = await discord.start({ refusedIntents: MESSAGE_CONTENT_INTENT, settings: { watchedChannels: [] } });
    expect(h.bot.messageContent).toBe(false);
    const [first, second] = h.fake.gateway.stats.identifies;
    expect(first!.intents & MESSAGE_CONTENT_INTENT).toBe(MESSAGE_CONTENT_INTENT);
    expect(second!.intents & MESSAGE_CONTENT_INTENT).toBe(0);
    expect(h.fake.gateway.stats.closes).toContain(4014);
    expect(h.logs.some((l) => l.level === 50 && /Message Content intent \(close code 4014\)/.test(String(l.msg)))).toBe(true);

    const status = await answer(h, aiscan(h, 'status'));
    expect(status).toMatch(/without the Message Content intent/);
    const target = await h.post('random', [{ name: 'ai-86.png', seed: 95 }]);
    const i = h.fake.messageCommand({ name: 'Check for AI', target, member: h.member('alice'), channel: h.channel('random') });
    await h.fake.waitFor(() => i.edits[0], 'the verdict');
    expect(i.edits[0].embeds[0].title).toBe('🔴 Likely AI-generated');
  });
});
