import { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import { GenguardError } from '../../errors/genguard-error.js';
import { userMessage } from '../../queue/failure-message.js';
import type { Notifier, NotifyContext, NotifyJob, ResultNotifyJob } from '../../queue/notifier.js';
import type { ScanJob } from '../../queue/scan-job.js';
import type { SettingsStore } from '../shared/guild-settings.js';
import { buildResultView } from '../shared/result-view.js';
import { encodeAlertRef } from './alert-ref.js';
import { findPostedMessage, postMetadata } from './posted-message.js';
import { renderAlert, renderError, renderResult, type SlackMessageBody } from './result-blocks.js';
import { clientOptions, postToResponseUrl, slackErrorName, toSlackError, type SlackClientSettings } from './slack-api.js';
import { slackMode } from './settings-command.js';
import type { SlackDismissals } from './slack-dismissals.js';
import type { SlackTokens } from './slack-tokens.js';

export interface SlackNotifierOptions {
  tokens: SlackTokens;
  /** Slack defaults (createSlackSettingsStore): automatic scans follow the workspace's mode at posting time. */
  settings: SettingsStore;
  client: Omit<SlackClientSettings, 'retries'>;
  /** Pictures moderators dismissed: no new alert for them. */
  dismissals?: SlackDismissals;
  logger?: Logger;
}

/** Reactions for `react` mode, by prediction. */
export const REACTIONS = { ai: 'robot_face', uncertain: 'grey_question', real: 'white_check_mark', error: 'warning' } as const;

/** How far Slack's clock may run behind ours: the search for an earlier post starts this long before the request. */
const CLOCK_SKEW_S = 300;

/** A channel message (thread reply or not): posted with metadata, looked for on a retry. */
interface ChannelPost extends SlackMessageBody {
  channel: string;
  thread_ts?: string;
}

/**
 * Posts scan outcomes to Slack for the notify worker: the answer where the job says (thread,
 * `response_url`, channel, ephemeral), and moderator alerts with Dismiss / Delete buttons.
 * Automatic scans read the workspace's mode when posting, so `/aiscan mode` also applies to
 * scans already queued. Slack's errors are mapped to retryable or final GenguardErrors.
 *
 * Channel and thread messages carry the step's idempotency key in their metadata; a retry looks
 * for it first (conversations.replies / conversations.history), so a post that Slack accepted
 * just before a worker died is not posted again. `response_url` and ephemeral answers cannot be
 * looked up (Slack lists neither), so a retry may repeat those.
 */
export class SlackNotifier implements Notifier {
  readonly platform = 'slack' as const;
  readonly #o: SlackNotifierOptions;
  readonly #clients = new Map<string, webApi.WebClient>();
  /** `team:reason` pairs already warned about: a lookup that cannot work fails the same way on every retry. */
  readonly #lookupWarned = new Set<string>();

  constructor(options: SlackNotifierOptions) {
    this.#o = options;
  }

  async reply(job: NotifyJob, context: NotifyContext): Promise<void> {
    const scan = job.scan;
    if (scan.reply.kind === 'none') return;
    if (scan.requestedBy.trigger === 'auto') {
      const mode = slackMode(await this.#o.settings.get('slack', scan.workspaceId));
      if (mode === 'silent') return;
      if (mode === 'react') return this.#react(job);
    }
    const body = this.#render(job);
    const target = scan.reply;
    switch (target.kind) {
      case 'response_url':
        await postToResponseUrl(
          target.url,
          { response_type: target.ephemeral ? 'ephemeral' : 'in_channel', replace_original: false, ...body },
          { ...(this.#o.client.fetch ? { fetch: this.#o.client.fetch } : {}), signal: context.signal },
        );
        return;
      case 'thread':
      case 'channel':
      case 'message_reply': {
        const threadTs = target.kind === 'thread' ? target.threadId : target.kind === 'message_reply' ? target.messageId : undefined;
        await this.#postOnce(scan, context, 'reply', {
          channel: target.channelId,
          ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
          ...body,
        });
        return;
      }
      case 'ephemeral':
        await this.#call(scan, 'posting the ephemeral reply', (c) =>
          c.chat.postEphemeral({ channel: target.channelId, user: target.userId, ...body }),
        );
        return;
      case 'interaction':
        throw new GenguardError('bad_request', 'a Discord interaction target on a Slack job', { retryable: false });
    }
  }

  async alert(job: ResultNotifyJob, context: NotifyContext): Promise<void> {
    const scan = job.scan;
    // Nothing to moderate without a message (a bare URL given to /aicheck).
    if (scan.messageId === undefined) return;
    const channel = scan.alertChannelId ?? (await this.#o.settings.get('slack', scan.workspaceId)).alertChannel;
    if (channel === undefined) return;
    if (job.image && (await this.#o.dismissals?.isDismissed(scan.workspaceId, job.image))) {
      this.#o.logger?.info({ scanId: scan.id, teamId: scan.workspaceId }, 'no alert: moderators dismissed this picture before');
      return;
    }
    const messageTs = scan.messageId;
    let permalink: string | undefined;
    try {
      const answer = await (await this.#client(scan)).chat.getPermalink({ channel: scan.channelId, message_ts: messageTs });
      permalink = answer.permalink;
    } catch (error) {
      // The alert is worth more than its link: the message may be gone already.
      this.#o.logger?.debug({ err: error, scanId: scan.id }, 'no permalink for the alert');
    }
    const body = renderAlert({
      view: buildResultView(job.result),
      channelId: scan.channelId,
      ...(scan.authorId === undefined ? {} : { userId: scan.authorId }),
      ...(scan.media.fileName === undefined ? {} : { fileName: scan.media.fileName }),
      ...(permalink === undefined ? {} : { permalink }),
      actionValue: encodeAlertRef({
        c: scan.channelId,
        m: messageTs,
        s: scan.id,
        ...(scan.attachmentId ? { f: scan.attachmentId } : {}),
        ...(job.image ? { h: job.image.sha256, ...(job.image.phash ? { p: job.image.phash } : {}) } : {}),
      }),
      canDelete: (await this.#o.tokens.adminTokenFor(scan.workspaceId)) !== undefined,
    });
    await this.#postOnce(scan, context, 'moderator alert', { channel, ...body });
  }

  /**
   * Posts with the step's key in the metadata. On a retry, first looks for a message that
   * already carries the key (an earlier attempt posted it, then died before the notify ledger
   * recorded it) and counts that as posted. A look that fails never stops the post.
   */
  async #postOnce(scan: ScanJob, context: NotifyContext, what: string, post: ChannelPost): Promise<void> {
    const key = context.idempotencyKey;
    if (context.attempt > 1) {
      const ts = await this.#findPosted(scan, post, key);
      if (ts !== undefined) {
        const fields = { scanId: scan.id, teamId: scan.workspaceId, channel: post.channel, ts, attempt: context.attempt };
        this.#o.logger?.info(fields, `${what} already posted (found by its metadata): not posting it again`);
        return;
      }
    }
    await this.#call(scan, `posting the ${what}`, (c) =>
      c.chat.postMessage({ ...post, metadata: postMetadata(key), unfurl_links: false, unfurl_media: false }),
    );
  }

  async #findPosted(scan: ScanJob, post: ChannelPost, key: string): Promise<string | undefined> {
    // Genguard posts after the request; the scanned message's ts is the next best lower bound.
    const oldest =
      scan.requestedAt !== undefined ? String(Math.max(0, Math.floor(scan.requestedAt / 1000) - CLOCK_SKEW_S)) : scan.messageId;
    const client = await this.#client(scan);
    try {
      return await findPostedMessage(
        client,
        { channel: post.channel, ...(post.thread_ts === undefined ? {} : { threadTs: post.thread_ts }), ...(oldest === undefined ? {} : { oldest }) },
        key,
      );
    } catch (error) {
      // missing_scope (no channels:history / groups:history), not_in_channel, ratelimited, …:
      // posting (and maybe repeating a message) beats not answering at all.
      const reason = slackErrorName(error) ?? String((error as { code?: unknown } | null)?.code ?? 'error');
      const fields = { err: error, scanId: scan.id, teamId: scan.workspaceId, channel: post.channel, reason };
      const seen = `${scan.workspaceId}:${reason}`;
      if (this.#lookupWarned.has(seen)) {
        this.#o.logger?.debug(fields, 'could not look for an earlier post; posting (may repeat it)');
      } else {
        this.#lookupWarned.add(seen);
        this.#o.logger?.warn(fields, 'could not look for an earlier post; posting (may repeat it)');
      }
      return undefined;
    }
  }

  #render(job: NotifyJob): SlackMessageBody {
    const fileName = job.scan.media.fileName;
    if (job.kind === 'result') return renderResult(buildResultView(job.result), fileName);
    const slackLogin = job.error.code === 'auth_failed' && job.scan.media.auth?.kind === 'slack-bot';
    return renderError({
      code: job.error.code,
      message: job.error.message,
      ...(fileName === undefined ? {} : { fileName }),
      hint: slackLogin
        ? 'Slack answered with its sign-in page instead of the file: the app’s token is not allowed to read files. ' +
          'A workspace admin should reinstall the app with the `files:read` scope.'
        : userMessage(job.error.code),
    });
  }

  async #react(job: NotifyJob): Promise<void> {
    const scan = job.scan;
    if (scan.messageId === undefined) return;
    const name = job.kind === 'error' ? REACTIONS.error : REACTIONS[job.result.prediction];
    try {
      await (await this.#client(scan)).reactions.add({ channel: scan.channelId, timestamp: scan.messageId, name });
    } catch (error) {
      if (slackErrorName(error) === 'already_reacted') return;
      throw toSlackError(error, 'adding the reaction');
    }
  }

  async #call<T>(scan: ScanJob, what: string, call: (client: webApi.WebClient) => Promise<T>): Promise<T> {
    const client = await this.#client(scan);
    try {
      return await call(client);
    } catch (error) {
      throw toSlackError(error, what);
    }
  }

  async #client(scan: ScanJob): Promise<webApi.WebClient> {
    const enterpriseId = scan.media.auth?.kind === 'slack-bot' ? scan.media.auth.enterpriseId : undefined;
    const token = await this.#o.tokens.botToken(scan.workspaceId, enterpriseId);
    let client = this.#clients.get(token);
    if (!client) {
      client = new webApi.WebClient(token, clientOptions({ ...this.#o.client, retries: 0 }));
      this.#clients.set(token, client);
    }
    return client;
  }
}
