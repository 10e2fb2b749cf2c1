import type { App, BlockButtonAction, types, webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import { toGenguardError } from '../../errors/genguard-error.js';
import type { SettingsStore } from '../shared/guild-settings.js';
import { decodeAlertRef } from './alert-ref.js';
import { escapeAndFit, userMention } from './mrkdwn.js';
import { ACTION_DELETE, ACTION_DISMISS, resolveAlert } from './result-blocks.js';
import {
  applySettingsCommand,
  describeSettings,
  parseSettingsCommand,
  SETTINGS_HELP,
} from './settings-command.js';
import { slackErrorName, toSlackError } from './slack-api.js';
import { canModerate, NOT_ALLOWED } from './slack-permissions.js';
import type { SlackDismissals } from './slack-dismissals.js';
import type { SlackTokens } from './slack-tokens.js';

export const SETTINGS_COMMAND = '/aiscan';

export interface AdminHandlerDeps {
  settings: SettingsStore;
  tokens: SlackTokens;
  adminGroup: string | undefined;
  dismissals: SlackDismissals;
  logger: Logger;
}

type Respond = (message: { response_type: 'ephemeral'; text: string; replace_original?: boolean }) => Promise<unknown>;
const ephemeral = (text: string) => ({ response_type: 'ephemeral' as const, replace_original: false, text });

/** `/aiscan` settings and the alert buttons: everything that needs moderator rights. */
export function registerAdminHandlers(app: App, deps: AdminHandlerDeps): void {
  const { settings, tokens, adminGroup, dismissals, logger } = deps;

  app.command(SETTINGS_COMMAND, async ({ command, ack, respond, client, context }) => {
    await ack();
    const say = respond as Respond;
    const teamId = context.teamId ?? command.team_id;
    const parsed = parseSettingsCommand(command.text);
    try {
      if (parsed.kind === 'help') return void (await say(ephemeral(SETTINGS_HELP)));
      if (parsed.kind === 'invalid') return void (await say(ephemeral(`${parsed.message}\n\n${SETTINGS_HELP}`)));
      if (!(await canModerate(client, command.user_id, adminGroup))) return void (await say(ephemeral(NOT_ALLOWED)));
      if (parsed.kind === 'status') return void (await say(ephemeral(describeSettings(await settings.get('slack', teamId)))));
      let message = '';
      await settings.update('slack', teamId, (current) => {
        const applied = applySettingsCommand(parsed, current, command.channel_id);
        message = applied.message;
        return applied.next;
      });
      logger.info({ teamId, userId: command.user_id, setting: parsed.kind }, 'slack settings changed');
      await say(ephemeral(message));
    } catch (error) {
      await say(ephemeral(`That did not work: ${escapeAndFit(toGenguardError(error).message, 500)}`)).catch(() => undefined);
    }
  });

  const alertAction = (kind: 'dismiss' | 'delete') =>
    async ({ ack, body, action, client, respond, context }: {
      ack: () => Promise<void>;
      body: BlockButtonAction;
      action: { value?: string };
      client: webApi.WebClient;
      respond: unknown;
      context: { teamId?: string };
    }) => {
      await ack();
      const say = respond as Respond;
      const ref = decodeAlertRef(action.value);
      const userId = body.user.id;
      const teamId = context.teamId ?? body.team?.id ?? '';
      const alert = body.container as { channel_id?: string; message_ts?: string };
      const alertChannel = alert.channel_id ?? body.channel?.id;
      const alertTs = alert.message_ts ?? body.message?.ts;
      if (!ref || alertChannel === undefined || alertTs === undefined) {
        await say(ephemeral('This alert is malformed; nothing was done.'));
        return;
      }
      try {
        if (!(await canModerate(client, userId, adminGroup))) return void (await say(ephemeral(NOT_ALLOWED)));
        let note: string;
        if (kind === 'dismiss') {
          await dismissals.dismiss(teamId, { sha256: ref.h, phash: ref.p });
          note = `:white_check_mark: Dismissed as a false positive by ${userMention(userId)}`;
        } else {
          const adminToken = await tokens.adminTokenFor(teamId);
          if (adminToken === undefined) {
            await say(ephemeral('Deleting needs `SLACK_ADMIN_USER_TOKEN`: a bot token can only delete the bot’s own messages.'));
            return;
          }
          try {
            await client.chat.delete({ token: adminToken, channel: ref.c, ts: ref.m });
            note = `:wastebasket: Message deleted by ${userMention(userId)}`;
          } catch (error) {
            if (slackErrorName(error) !== 'message_not_found') throw toSlackError(error, 'deleting the message');
            note = `:wastebasket: The message was already deleted (checked by ${userMention(userId)})`;
          }
          // Deleting a message leaves its file in the workspace's files; remove the image too.
          if (ref.f !== undefined) note += await deleteFile(client, adminToken, ref.f, logger);
        }
        const blocks = resolveAlert((body.message?.blocks ?? []) as types.KnownBlock[], note);
        await client.chat.update({ channel: alertChannel, ts: alertTs, blocks, text: note });
        logger.info({ teamId, userId, action: kind, channel: ref.c, ts: ref.m, scanId: ref.s }, 'slack alert handled');
      } catch (error) {
        await say(ephemeral(`That did not work: ${escapeAndFit(toGenguardError(error).message, 500)}`)).catch(() => undefined);
      }
    };

  app.action<BlockButtonAction>(ACTION_DISMISS, alertAction('dismiss'));
  app.action<BlockButtonAction>(ACTION_DELETE, alertAction('delete'));
}

/** Best effort: the message is gone either way; says in the alert when the file stays. */
async function deleteFile(client: webApi.WebClient, token: string, file: string, logger: Logger): Promise<string> {
  try {
    await client.files.delete({ token, file });
    return '';
  } catch (error) {
    const name = slackErrorName(error);
    if (name === 'file_not_found' || name === 'file_deleted') return '';
    logger.warn({ err: toSlackError(error, 'deleting the file').message, file }, 'flagged file not deleted');
    return ` (the file itself stays: ${name === 'missing_scope' ? 'the admin token lacks `files:write`' : 'Slack refused to delete it'})`;
  }
}
