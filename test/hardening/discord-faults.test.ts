import { describe, expect, it } from 'vitest';
import { useDiscordHarness } from '../discord/harness.js';
import { Prng } from '../fuzz/prng.js';

/**
 * The Discord side under faults: the gateway connection dropped (no close frame) several times
 * while images keep arriving, and the REST API answering 500 and 429 at random. Every posted
 * image must get exactly one reply and, when likely AI, exactly one moderator alert; and the
 * bot token must not appear in anything the bot or the workers logged.
 */

const discord = useDiscordHarness();

describe('Discord: gateway drops and REST errors', () => {
  it('every image is answered once and alerted once, across 3 gateway drops and injected 500/429s', { timeout: 60_000 }, async () => {
    const random = new Prng(0xd15c);
    const harness = await discord.start();
    await harness.watch();
    const gateway = harness.fake.gateway;
    const posted: Array<{ id: string; ai: boolean }> = [];
    let drops = 0;
    let injected = 0;
    let seed = 200;

    const post = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const score = random.chance(0.4) ? 80 + random.int(19) : 5 + random.int(50);
        const message = await harness.post('general', [{ name: `${score >= 70 ? 'ai' : 'real'}-${score}.png`, seed: seed++ }]);
        posted.push({ id: message.id, ai: score >= 70 });
      }
    };

    for (let round = 0; round < 4; round++) {
      await post(5);
      // REST trouble for the replies and alerts about to be sent.
      if (random.chance(0.5)) {
        harness.fake.failNext('POST', /^\/channels\/\d+\/messages$/, { status: 500, body: { message: '500: Internal Server Error', code: 0 } }, 1 + random.int(2));
      } else {
        harness.fake.rateLimitNext('POST', /^\/channels\/\d+\/messages$/, 0.3, 1);
      }
      injected++;
      if (round < 3) {
        const resumed = new Promise<void>((resolve) => gateway.once('resumed', () => resolve()));
        gateway.drop();
        drops++;
        // Sent while the bot has no connection: Discord buffers them and replays on RESUME.
        await post(2);
        await resumed;
      }
    }

    await harness.fake.waitFor(() => posted.every((p) => harness.repliesTo(p.id).length >= 1), 'a reply to every image', 45_000);
    const aiIds = posted.filter((p) => p.ai).map((p) => p.id);
    await harness.fake.waitFor(() => aiIds.every((id) => harness.sentTo('mod-alerts').some((s) => s.body.embeds[0].description.includes(id))), 'an alert for every likely-AI image', 30_000);
    // Give late duplicates (if any) a moment to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    const replyCounts = posted.map((p) => harness.repliesTo(p.id).length);
    const alertCounts = aiIds.map((id) => harness.sentTo('mod-alerts').filter((s) => s.body.embeds[0].description.includes(id)).length);
    console.log(`[discord-faults] ${JSON.stringify({ images: posted.length, likelyAi: aiIds.length, drops, resumes: gateway.stats.resumes.length, identifies: gateway.stats.identifies.length, restFaultsInjected: injected, replies: replyCounts.reduce((a, b) => a + b, 0), alerts: alertCounts.reduce((a, b) => a + b, 0) })}`);
    expect(replyCounts.every((n) => n === 1), `replies per image: ${replyCounts.join(',')}`).toBe(true);
    expect(alertCounts.every((n) => n === 1), `alerts per likely-AI image: ${alertCounts.join(',')}`).toBe(true);
    expect(harness.sentTo('mod-alerts')).toHaveLength(aiIds.length);
    expect(gateway.stats.resumes.length).toBeGreaterThanOrEqual(drops);
    expect(gateway.stats.identifies).toHaveLength(1);

    // No secret in the logs of the bot and the workers (pino at debug).
    const text = harness.logs.map((l) => JSON.stringify(l)).join('\n');
    expect(text.length).toBeGreaterThan(0);
    expect(text.includes(harness.fake.token), 'the bot token appears in the logs').toBe(false);
    expect(text.includes(harness.fake.token.slice(-20)), 'part of the bot token appears in the logs').toBe(false);
  });
});
