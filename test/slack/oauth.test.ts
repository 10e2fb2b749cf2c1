import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eventCallback } from '../fakes/slack/payloads.js';
import { messageText, png, useSlackHarness, waitFor } from './harness.js';

const slack = useSlackHarness({ transport: 'http', oauth: true });

describe('multi-workspace (OAuth) mode', () => {
  it('installs a workspace through Bolt’s OAuth flow, stores it in Redis and uses its token', async () => {
    const harness = await slack.start();
    const base = `http://127.0.0.1:${harness.bot.port}`;
    // No GENGUARD_ENCRYPTION_KEY: said once at start-up.
    expect(harness.logs.filter((l) => String(l['msg']).includes('stored unencrypted'))).toHaveLength(1);

    // Not installed yet: requests for the workspace are refused, nothing is scanned.
    const ws = harness.fake.workspaces;
    const { team: second, botToken: secondToken } = ws.addTeam({ name: 'Second' });
    const bob = ws.addUser(second.id, { name: 'bob' });
    const channel = ws.addChannel(second.id, { members: [bob.id] });
    const file = harness.fake.addFile(second.id, { name: 'ai-91.png', bytes: await png(31) });
    const early = harness.fake.postUserMessage(second.id, channel.id, bob.id, { files: [file] });
    // Bolt acknowledges (Slack would retry otherwise) but runs no listener.
    await harness.deliver('event', eventCallback(harness.teamRef(second), { ...early }));
    await waitFor(() => harness.logs.some((l) => String(l['msg']).includes('not installed')), 5_000, 'the refusal');
    expect(harness.fake.fileRequests).toHaveLength(0);

    // The install page redirects to Slack with a signed state, also set as a cookie.
    const install = await fetch(`${base}/slack/install`, { redirect: 'manual' });
    expect(install.status).toBe(302);
    const authorize = new URL(install.headers.get('location') ?? '');
    expect(authorize.searchParams.get('client_id')).toBe('client-1');
    expect(authorize.searchParams.get('scope')?.split(',')).toContain('files:read');
    const state = authorize.searchParams.get('state') ?? '';
    const cookie = (install.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(cookie).toContain(state);

    // Slack sends the browser back with a code; Bolt exchanges it (oauth.v2.access) and stores the installation.
    const code = harness.fake.grantOAuthCode({ teamId: second.id, botToken: secondToken, installerUserId: bob.id });
    const back = await fetch(`${base}/slack/oauth_redirect?code=${code}&state=${encodeURIComponent(state)}`, { headers: { cookie } });
    expect(back.status).toBe(200);
    const stored = await harness.bot.installations.find({ teamId: second.id, enterpriseId: undefined, isEnterpriseInstall: false });
    expect(stored?.bot?.token).toBe(secondToken);
    expect(stored?.bot?.userId).toBe(second.botUserId);

    // A forged callback (state without the browser's cookie) is refused.
    const code2 = harness.fake.grantOAuthCode({ teamId: second.id, botToken: secondToken, installerUserId: bob.id });
    const forged = await fetch(`${base}/slack/oauth_redirect?code=${code2}&state=${encodeURIComponent(state)}`);
    expect(forged.ok).toBe(false);

    // Now the second workspace is served with its own token, end to end.
    const { event } = await harness.share([{ name: 'ai-92.png', seed: 32 }], { team: second, channel, user: bob });
    const [reply] = await harness.waitForBotMessage(channel, event.ts);
    expect(messageText(reply!)).toContain('0.92');
    expect(harness.fake.fileRequests.at(-1)?.authorization).toBe(`Bearer ${secondToken}`);
    const posts = harness.fake.api.calls.filter((c) => c.method === 'chat.postMessage');
    expect(posts.at(-1)?.token).toBe(secondToken);

    // Uninstalling forgets the workspace's tokens.
    await harness.deliver('event', eventCallback(harness.teamRef(second), { type: 'app_uninstalled' }));
    await waitFor(async () => (await harness.bot.installations.find({ teamId: second.id, enterpriseId: undefined, isEnterpriseInstall: false })) === undefined, 5_000, 'the installation to be deleted');
  });

  it('with GENGUARD_ENCRYPTION_KEY, stores the installation encrypted and still serves the workspace', async () => {
    const harness = await slack.start({ env: { GENGUARD_ENCRYPTION_KEY: randomBytes(32).toString('base64') } });
    expect(harness.logs.filter((l) => String(l['msg']).includes('stored unencrypted'))).toEqual([]);
    const base = `http://127.0.0.1:${harness.bot.port}`;
    const ws = harness.fake.workspaces;
    const { team: second, botToken: secondToken } = ws.addTeam({ name: 'Second' });
    const bob = ws.addUser(second.id, { name: 'bob' });
    const channel = ws.addChannel(second.id, { members: [bob.id] });

    const install = await fetch(`${base}/slack/install`, { redirect: 'manual' });
    const state = new URL(install.headers.get('location') ?? '').searchParams.get('state') ?? '';
    const cookie = (install.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const code = harness.fake.grantOAuthCode({ teamId: second.id, botToken: secondToken, installerUserId: bob.id });
    const back = await fetch(`${base}/slack/oauth_redirect?code=${code}&state=${encodeURIComponent(state)}`, { headers: { cookie } });
    expect(back.status).toBe(200);

    const raw = await harness.redisClient.get(`${harness.prefix}:slack:installation:team:${second.id}`);
    expect(JSON.parse(raw ?? '{}')).toMatchObject({ v: 1, alg: 'A256GCM' });
    expect(raw).not.toContain(secondToken);

    const { event } = await harness.share([{ name: 'ai-92.png', seed: 32 }], { team: second, channel, user: bob });
    const [reply] = await harness.waitForBotMessage(channel, event.ts);
    expect(messageText(reply!)).toContain('0.92');
    expect(harness.fake.fileRequests.at(-1)?.authorization).toBe(`Bearer ${secondToken}`);

    // A value that no longer opens (here: another workspace's, moved) is logged as such, not as "not installed".
    await harness.bot.installations.storeInstallation({ team: { id: 'TMOVED' }, enterprise: undefined, user: { token: undefined, scopes: undefined, id: 'U1' }, bot: { token: 'xoxb-moved', scopes: [], id: 'B2', userId: 'U2' } });
    await harness.redisClient.set(`${harness.prefix}:slack:installation:team:${second.id}`, (await harness.redisClient.get(`${harness.prefix}:slack:installation:team:TMOVED`)) ?? '');
    const before = harness.fake.fileRequests.length;
    await harness.share([{ name: 'ai-93.png', seed: 33 }], { team: second, channel, user: bob });
    const logged = await waitFor(() => harness.logs.find((l) => String(l['err']).includes('cannot be decrypted with GENGUARD_ENCRYPTION_KEY')), 5_000, 'the decryption error');
    expect(logged['level']).toBe(50);
    expect(harness.fake.fileRequests).toHaveLength(before);
  });
});
