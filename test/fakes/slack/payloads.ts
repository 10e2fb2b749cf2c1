import { randomUUID } from 'node:crypto';

/**
 * Request bodies as Slack sends them to an app (Events API callbacks, slash commands, message
 * shortcuts, block actions), for both the HTTP and the Socket Mode transport.
 */

export const APP_ID = 'A0GENGUARD';

export interface TeamRef {
  id: string;
  domain: string;
  botUserId: string;
}

let eventCounter = 0;

/** The Events API envelope around an event (`type: event_callback`). */
export function eventCallback(team: TeamRef, event: object): Record<string, unknown> {
  eventCounter += 1;
  const ts = (event as { ts?: unknown }).ts;
  return {
    token: 'legacy-verification-token',
    team_id: team.id,
    api_app_id: APP_ID,
    event: { event_ts: ts ?? `${Math.floor(Date.now() / 1000)}.000000`, ...event },
    type: 'event_callback',
    event_id: `Ev${String(eventCounter).padStart(8, '0')}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: team.id, user_id: team.botUserId, is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
  };
}

export function slashCommand(
  team: TeamRef,
  options: { command: string; text?: string; channelId: string; userId: string; responseUrl: string },
): Record<string, string> {
  return {
    token: 'legacy-verification-token',
    team_id: team.id,
    team_domain: team.domain,
    channel_id: options.channelId,
    channel_name: 'general',
    user_id: options.userId,
    user_name: 'someone',
    command: options.command,
    text: options.text ?? '',
    api_app_id: APP_ID,
    is_enterprise_install: 'false',
    response_url: options.responseUrl,
    trigger_id: `${Date.now()}.${randomUUID().slice(0, 8)}`,
  };
}

export function messageShortcut(
  team: TeamRef,
  options: { callbackId: string; channelId: string; userId: string; message: Record<string, unknown>; responseUrl: string },
): Record<string, unknown> {
  return {
    type: 'message_action',
    token: 'legacy-verification-token',
    action_ts: `${Date.now() / 1000}`,
    team: { id: team.id, domain: team.domain },
    user: { id: options.userId, username: 'someone', team_id: team.id, name: 'someone' },
    channel: { id: options.channelId, name: 'general' },
    is_enterprise_install: false,
    enterprise: null,
    callback_id: options.callbackId,
    trigger_id: `${Date.now()}.${randomUUID().slice(0, 8)}`,
    response_url: options.responseUrl,
    message_ts: options.message['ts'],
    message: options.message,
  };
}

export function blockAction(
  team: TeamRef,
  options: {
    channelId: string;
    userId: string;
    message: Record<string, unknown>;
    actionId: string;
    value: string;
    responseUrl: string;
  },
): Record<string, unknown> {
  return {
    type: 'block_actions',
    user: { id: options.userId, username: 'someone', name: 'someone', team_id: team.id },
    api_app_id: APP_ID,
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: options.message['ts'], channel_id: options.channelId, is_ephemeral: false },
    trigger_id: `${Date.now()}.${randomUUID().slice(0, 8)}`,
    team: { id: team.id, domain: team.domain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: options.channelId, name: 'mod-alerts' },
    message: options.message,
    response_url: options.responseUrl,
    actions: [
      {
        action_id: options.actionId,
        block_id: 'genguard_alert_actions',
        text: { type: 'plain_text', text: 'button' },
        value: options.value,
        type: 'button',
        action_ts: `${Date.now() / 1000}`,
      },
    ],
    state: { values: {} },
  };
}
