import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ACTION_DELETE, ACTION_DISMISS } from '../../src/bots/slack/result-blocks.js';
import { createSlackSettingsStore } from '../../src/bots/slack/slack-settings.js';
import { messageText, useSlackHarness, waitFor, type SlackHarness, type SlackHarnessOptions } from './harness.js';

const slack = useSlackHarness({ transport: 'http' });

async function aiscan(harness: SlackHarness, text: string, user = harness.admin): Promise<string> {
  const { responseUrl, answer } = await harness.command('/aiscan', text, { user });
  expect(answer.status).toBe(200);
  const [post] = await harness.waitForResponse(responseUrl);
  expect(post?.['response_type']).toBe('ephemeral');
  return String(post?.['text']);
}

describe('/aiscan settings', () => {
  it('are refused to members who are not admins', async () => {
    const harness = await slack.start();
    expect(await aiscan(harness, `alerts <#${harness.mods.id}|mod-alerts>`, harness.alice)).toContain('Only workspace admins');
    expect((await harness.bot.settings.get('slack', harness.team.id)).alertChannel).toBeUndefined();
  });

  it('are stored in Redis per workspace and apply to the next scans', async () => {
    const harness = await slack.start();
    expect(await aiscan(harness, `alerts <#${harness.mods.id}|mod-alerts>`)).toContain(`<#${harness.mods.id}>`);
    expect(await aiscan(harness, 'threshold 0.85')).toContain('0.85');
    expect(await aiscan(harness, 'mode react')).toContain('reaction');
    expect(await aiscan(harness, 'unwatch')).toContain(`<#${harness.general.id}>`);
    const status = await aiscan(harness, 'status');
    expect(status).toContain(`except <#${harness.general.id}>`);
    expect(status).toContain('as a reaction');
    expect(status).toContain('≥ 0.85');

    // A separate store on a separate connection (another process) reads the same settings.
    const client = new Redis(slack.redis.url);
    try {
      const stored = await createSlackSettingsStore(client, harness.prefix).get('slack', harness.team.id);
      expect(stored).toMatchObject({ alertChannel: harness.mods.id, alertThreshold: 0.85, mode: 'react', watchAll: true, unwatchedChannels: [harness.general.id] });
      const other = await createSlackSettingsStore(client, harness.prefix).get('slack', 'T0OTHER');
      expect(other).toMatchObject({ watchAll: true, mode: 'thread' });
      expect(other.alertChannel).toBeUndefined();
    } finally {
      client.disconnect();
    }

    await harness.share([{ name: 'ai-99.png' }]);
    await new Promise((r) => setTimeout(r, 400));
    expect(harness.fake.fileRequests).toHaveLength(0);
    expect(await aiscan(harness, 'watch')).toContain('Watching');
    const { event } = await harness.share([{ name: 'ai-90.png', seed: 7 }]);
    await waitFor(() => harness.fake.workspaces.message(harness.team.id, harness.general.id, event.ts)?.reactions?.length, 15_000, 'a reaction');
    // 0.90 ≥ 0.85: alert.
    await harness.waitForBotMessage(harness.mods);
  });

  it('accept members of the configured admin group and explain bad input', async () => {
    const group = 'S0MODS';
    const harness = await slack.start({ env: { SLACK_ADMIN_GROUP: group } });
    harness.team.usergroups.set(group, [harness.alice.id]);
    expect(await aiscan(harness, 'backend cascade', harness.alice)).toContain('cascade');
    expect((await harness.bot.settings.get('slack', harness.team.id)).backend).toBe('cascade');
    expect(await aiscan(harness, 'threshold 7')).toContain('0 to 1');
    expect(await aiscan(harness, 'frobnicate')).toContain('Unknown setting');
  });
});

describe('moderator alerts', () => {
  async function flagged(options: Partial<SlackHarnessOptions> = {}) {
    const harness = await slack.start({ ...options });
    await harness.bot.settings.update('slack', harness.team.id, (s) => ({ ...s, alertChannel: harness.mods.id }));
    const { event } = await harness.share([{ name: 'ai-97.png' }]);
    const [alert] = await harness.waitForBotMessage(harness.mods);
    return { harness, event, alert: alert! };
  }

  it('Dismiss: only moderators; the alert then shows who dismissed it and loses its buttons', async () => {
    const { harness, alert } = await flagged();
    const denied = await harness.click(alert, ACTION_DISMISS, harness.alice);
    const [refusal] = await harness.waitForResponse(denied.responseUrl);
    expect(String(refusal?.['text'])).toContain('Only workspace admins');
    expect(messageText(alert)).toContain(ACTION_DISMISS);

    await harness.click(alert, ACTION_DISMISS, harness.admin);
    await waitFor(() => messageText(alert).includes('Dismissed as a false positive'), 15_000, 'the updated alert');
    expect(messageText(alert)).toContain(`<@${harness.admin.id}>`);
    expect(alert.blocks?.some((b) => (b as { type: string }).type === 'actions')).toBe(false);

    // The same picture posted again gets its verdict, but moderators are not alerted again.
    const again = await harness.share([{ name: 'ai-97.png' }]);
    await harness.waitForBotMessage(harness.general, again.event.ts);
    await waitFor(() => harness.logs.some((l) => String(l['msg']).includes('dismissed this picture')), 15_000, 'the skipped alert');
    expect(harness.botMessages(harness.mods)).toHaveLength(1);
  });

  it('Delete with an admin user token removes the flagged message', async () => {
    const { harness, event, alert } = await flagged({ adminToken: true });
    expect(messageText(alert)).toContain(ACTION_DELETE);
    expect(messageText(alert)).not.toContain('SLACK_ADMIN_USER_TOKEN');
    await harness.click(alert, ACTION_DELETE, harness.admin);
    await waitFor(() => messageText(alert).includes('Message deleted'), 15_000, 'the updated alert');
    expect(harness.fake.workspaces.message(harness.team.id, harness.general.id, event.ts)).toBeUndefined();
    // The image file goes too (files.delete with the admin token).
    expect(harness.team.files.size).toBe(0);
    const deleteCall = harness.fake.api.calls.find((c) => c.method === 'chat.delete');
    expect(deleteCall?.token).toBe(harness.adminToken);
  });

  it('Delete without an admin token is explained, and the message stays', async () => {
    const { harness, event, alert } = await flagged();
    // Forge a Delete click with the alert's own value: the handler must still refuse.
    const actions = alert.blocks?.find((b) => (b as { type: string }).type === 'actions') as { elements: Array<{ value: string }> };
    const value = actions.elements[0]!.value;
    const { responseUrl } = await harness.click(alert, ACTION_DELETE, harness.admin, { value });
    const [post] = await harness.waitForResponse(responseUrl);
    expect(String(post?.['text'])).toContain('SLACK_ADMIN_USER_TOKEN');
    expect(harness.fake.workspaces.message(harness.team.id, harness.general.id, event.ts)).toBeDefined();
    expect(harness.fake.api.calls.some((c) => c.method === 'chat.delete')).toBe(false);
  });
});
