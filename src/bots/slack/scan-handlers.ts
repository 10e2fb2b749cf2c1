import type { App, webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { SlackConfig } from '../../config/load-config.js';
import { toGenguardError, type GenguardError } from '../../errors/genguard-error.js';
import type { ScanProducer } from '../../queue/scan-producer.js';
import type { ReplyTarget } from '../../queue/scan-job.js';
import type { SettingsStore } from '../shared/guild-settings.js';
import { imageRefsOf, isAutoScanCandidate, latestImageMessage, parseCheckArgument, type SlackMessageLike } from './file-refs.js';
import { escapeAndFit } from './mrkdwn.js';
import { buildSlackScanJob, isSlackFileHost, type SlackScanRequest } from './scan-jobs.js';
import { isWatched } from './settings-command.js';
import { slackErrorName } from './slack-api.js';

export const CHECK_COMMAND = '/aicheck';
export const SHORTCUT_CALLBACK = 'check_for_ai';
/** Slack allows 5 posts per response_url; one answer per image. */
export const MAX_SHORTCUT_IMAGES = 5;
const HISTORY_LIMIT = 50;

export interface ScanHandlerDeps {
  producer: Pick<ScanProducer, 'enqueue'>;
  settings: SettingsStore;
  slack: SlackConfig;
  logger: Logger;
}

type Respond = (message: { response_type: 'ephemeral'; text: string; replace_original?: boolean }) => Promise<unknown>;

const ephemeral = (text: string) => ({ response_type: 'ephemeral' as const, text });

/** What to tell the person when queuing failed. */
function enqueueFailure(error: GenguardError): string {
  return error.code === 'queue_unavailable'
    ? 'genguard cannot take new checks right now (its queue is unreachable). Please try again in a minute.'
    : `That did not work: ${escapeAndFit(error.message, 500)}`;
}

/**
 * The three ways an image gets scanned: a file shared in a watched channel, `/aicheck [url]`,
 * and the "Check for AI" message shortcut. Each acknowledges Slack at once and queues jobs; the
 * answers come later from the notify worker.
 */
export function registerScanHandlers(app: App, deps: ScanHandlerDeps): void {
  const { producer, settings, slack, logger } = deps;

  const enqueueAll = async (requests: SlackScanRequest[]): Promise<void> => {
    if (requests.length === 0) return;
    const current = await settings.get('slack', requests[0]!.teamId);
    for (const request of requests) await producer.enqueue(buildSlackScanJob(request, current));
  };

  app.event('message', async ({ event, context, body }) => {
    const message = event as SlackMessageLike;
    if (!isAutoScanCandidate(message)) return;
    const teamId = context.teamId ?? (body as { team_id?: string }).team_id;
    if (teamId === undefined) return;
    const channelId = message.channel as string;
    const ts = message.ts as string;
    const reply: ReplyTarget = { kind: 'thread', channelId, threadId: message.thread_ts ?? ts };
    try {
      const current = await settings.get('slack', teamId);
      if (!isWatched(current, channelId)) return;
      for (const image of imageRefsOf(message)) {
        await producer.enqueue(
          buildSlackScanJob(
            {
              teamId,
              enterpriseId: context.enterpriseId,
              channelId,
              messageTs: ts,
              authorId: message.user,
              image,
              trigger: 'auto',
              reply,
              idParts: [channelId, ts, image.fileId],
            },
            current,
          ),
        );
      }
    } catch (error) {
      // Nobody waits on an automatic scan; the log (and the queue metrics) carry it.
      logger.error({ err: toGenguardError(error), teamId, channelId, ts }, 'could not queue an automatic Slack scan');
    }
  });

  app.command(CHECK_COMMAND, async ({ command, ack, respond, client, context }) => {
    let url: URL | undefined;
    try {
      url = parseCheckArgument(command.text);
    } catch (error) {
      await ack(ephemeral(toGenguardError(error).message));
      return;
    }
    await ack(ephemeral(url ? 'Checking that image…' : 'Looking for the latest image in this channel…'));
    const reply: ReplyTarget = { kind: 'response_url', url: command.response_url, ephemeral: slack.ephemeralChecks };
    const base = {
      teamId: context.teamId ?? command.team_id,
      enterpriseId: context.enterpriseId,
      channelId: command.channel_id,
      trigger: 'slash_command' as const,
      userId: command.user_id,
      reply,
    };
    try {
      if (url) {
        await enqueueAll([
          { ...base, url: { href: url.href, withBotToken: isSlackFileHost(url, slack.fileHosts) }, idParts: ['cmd', command.trigger_id] },
        ]);
        return;
      }
      const found = await latestImage(client, command.channel_id);
      if (typeof found === 'string') {
        await (respond as Respond)(ephemeral(found));
        return;
      }
      await enqueueAll([
        {
          ...base,
          messageTs: found.message.ts,
          authorId: found.message.user,
          image: found.image,
          idParts: ['cmd', command.trigger_id],
        },
      ]);
    } catch (error) {
      await (respond as Respond)(ephemeral(enqueueFailure(toGenguardError(error)))).catch(() => undefined);
    }
  });

  app.shortcut({ callback_id: SHORTCUT_CALLBACK, type: 'message_action' }, async ({ shortcut, ack, respond, context }) => {
    await ack();
    const message = shortcut.message as SlackMessageLike;
    const images = imageRefsOf(message).slice(0, MAX_SHORTCUT_IMAGES);
    if (images.length === 0) {
      await (respond as Respond)(ephemeral('That message has no image I can check (JPEG, PNG, WebP, GIF, AVIF, BMP, TIFF).'));
      return;
    }
    const teamId = context.teamId ?? shortcut.team?.id ?? '';
    const reply: ReplyTarget = { kind: 'response_url', url: shortcut.response_url, ephemeral: slack.ephemeralChecks };
    try {
      await enqueueAll(
        images.map((image) => ({
          teamId,
          enterpriseId: context.enterpriseId,
          channelId: shortcut.channel.id,
          messageTs: shortcut.message.ts,
          authorId: message.user,
          image,
          trigger: 'context_menu' as const,
          userId: shortcut.user.id,
          reply,
          idParts: ['sc', shortcut.trigger_id, image.fileId],
        })),
      );
    } catch (error) {
      await (respond as Respond)(ephemeral(enqueueFailure(toGenguardError(error)))).catch(() => undefined);
    }
  });
}

/** The newest image in the channel's recent history, or what to tell the person. */
type FoundImage = NonNullable<ReturnType<typeof latestImageMessage>>;

async function latestImage(client: webApi.WebClient, channel: string): Promise<FoundImage | string> {
  let messages: SlackMessageLike[];
  try {
    const history = await client.conversations.history({ channel, limit: HISTORY_LIMIT });
    messages = (history.messages ?? []) as SlackMessageLike[];
  } catch (error) {
    const name = slackErrorName(error);
    if (name === 'not_in_channel' || name === 'channel_not_found') {
      return 'I can only look at channels I am a member of. Invite me (`/invite @genguard`), or give me an image URL: `/aicheck https://…`.';
    }
    throw error;
  }
  return latestImageMessage(messages) ?? `I found no image in the last ${HISTORY_LIMIT} messages here. Give me a URL: \`/aicheck https://…\`.`;
}
