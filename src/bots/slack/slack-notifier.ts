import { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import { GenguardError } from '../../errors/genguard-error.js';
import { userMessage } from '../../queue/failure-message.js';
import type { Notifier, NotifyContext, NotifyJob, ResultNotifyJob } from '../../queue/notifier.js';
import type { ScanJob } from '../../queue/scan-job.js';
import type { SettingsStore } from '../shared/guild-settings.js';
import { buildResultView } from '../shared/result-view.js';
import { encodeAlertRef } from './alert-ref.js';
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

/**
 * Posts scan outcomes to Slack for the notify worker: the answer where the job says (thread,
 * `response_url`, channel, ephemeral), and moderator alerts with Dismiss / Delete buttons.
 * Automatic scans read the workspace's mode when posting, so `/aiscan mode` also applies to
 * scans already queued. Slack's errors are mapped to retryable or final GenguardErrors.
 */
export class SlackNotifier implements Notifier {
  readonly platform = 'slack' as const;
  readonly #o: SlackNotifierOptions;
  readonly #clients = new Map<string, webApi.WebClient>();

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
        await this.#call(scan, 'posting the reply', (c) =>
          c.chat.postMessage({
            channel: target.channelId,
            ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
            ...body,
            unfurl_links: false,
            unfurl_media: false,
          }),
        );
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

  async alert(job: ResultNotifyJob, _context: NotifyContext): Promise<void> {
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
    await this.#call(scan, 'posting the moderator alert', (c) =>
      c.chat.postMessage({ channel, ...body, unfurl_links: false, unfurl_media: false }),
    );
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
