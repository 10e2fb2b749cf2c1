import { Routes, type APIEmbed, type APIMessage, type REST } from 'discord.js';
import type { Logger } from 'pino';
import type { GuildSettings, SettingsStore } from '../shared/guild-settings.js';
import { GenguardError } from '../../errors/genguard-error.js';
import type { Notifier, NotifyContext, NotifyJob, ResultNotifyJob } from '../../queue/notifier.js';
import type { ScanJob } from '../../queue/scan-job.js';
import type { AlertStore, ImageHashes } from './alert-store.js';
import { NO_MENTIONS } from './discord-text.js';
import { errorIdFor, errorText, isActionable } from './error-text.js';
import { alertMessage, resultEmbed, viewFor } from './render-result.js';
import { API_CODES, isApiCode, isExpiredToken, toPlatformError } from './rest-errors.js';

export interface DiscordNotifierOptions {
  /** A REST client with the bot token set (the gateway client's `client.rest`, or a new one in a worker). */
  rest: REST;
  settings: SettingsStore;
  alerts: AlertStore;
  logger: Logger;
  /** Intake's byte limit, quoted in "too large" answers. */
  maxBytes?: number;
  now?: () => number;
}

/** Discord keeps an interaction token for 15 minutes; a little margin for clocks and the request itself. */
const INTERACTION_TTL_MS = 15 * 60_000 - 20_000;

type Body = { content?: string; embeds?: APIEmbed[] };

/**
 * Posts scan outcomes on Discord through REST only (no gateway), so it runs in the bot process
 * or in a `genguard worker`. Replies follow the server's mode; interaction answers edit the
 * deferred `@original` (first result) or follow up (further images of the same request); a
 * result that arrives after the token expired goes to the requester by DM.
 */
export class DiscordNotifier implements Notifier {
  readonly platform = 'discord' as const;
  readonly #o: DiscordNotifierOptions;
  readonly #now: () => number;

  constructor(options: DiscordNotifierOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  async reply(job: NotifyJob, context: NotifyContext): Promise<void> {
    const scan = job.scan;
    const target = scan.reply;
    if (target.kind === 'none') return;
    const settings = await this.#settings(scan);
    const body = this.#body(job, settings);
    switch (target.kind) {
      case 'interaction':
        return this.#answerInteraction(job, target, body, context);
      case 'message_reply':
        return this.#replyToMessage(job, target, body, settings, context);
      case 'channel':
      case 'thread':
        if (!body) return;
        await this.#post(target.kind === 'thread' ? target.threadId : target.channelId, { ...body, nonce: context.idempotencyKey, enforce_nonce: true }, 'post the result', context);
        return;
      default:
        throw new GenguardError('bad_request', `reply target "${target.kind}" is not a Discord target`, { retryable: false });
    }
  }

  async alert(job: ResultNotifyJob, context: NotifyContext): Promise<void> {
    const scan = job.scan;
    // An /aicheck upload was never posted: there is nothing for moderators to act on.
    if (scan.requestedBy.trigger === 'slash_command') return;
    const settings = await this.#settings(scan);
    const channelId = settings.alertChannel ?? scan.alertChannelId;
    if (!channelId) return;
    const score = job.result.ensemble_score;
    if (score < settings.alertThreshold) return;
    const hashes = imageHashes(job);
    if (await this.#o.alerts.isDismissed(scan.workspaceId, hashes)) {
      this.#o.logger.info({ scanId: scan.id, guildId: scan.workspaceId, score }, 'alert skipped: image dismissed earlier by moderators');
      return;
    }
    const author = await this.#author(scan);
    const alertId = context.idempotencyKey;
    await this.#o.alerts.saveAlert(alertId, {
      scanId: scan.id,
      guildId: scan.workspaceId,
      channelId: scan.channelId,
      ...(scan.messageId && author.exists ? { messageId: scan.messageId } : {}),
      ...(hashes.sha256 ? { sha256: hashes.sha256 } : {}),
      ...(hashes.phash ? { phash: hashes.phash } : {}),
      score,
      createdAt: this.#now(),
    });
    const message = alertMessage({
      result: job.result,
      bands: bandsOf(settings),
      alertId,
      guildId: scan.workspaceId,
      channelId: scan.channelId,
      ...(scan.messageId && author.exists ? { messageId: scan.messageId } : {}),
      ...(author.id ? { authorId: author.id } : {}),
      ...(author.name ? { authorName: author.name } : {}),
      ...(scan.media.fileName ? { fileName: scan.media.fileName } : {}),
      imageUrl: scan.media.url,
      ...(job.cache ? { cached: true } : {}),
    });
    await this.#post(channelId, { ...message, nonce: context.idempotencyKey, enforce_nonce: true }, 'post the moderator alert', context);
  }

  // ------------------------------------------------------------------ replies

  #body(job: NotifyJob, settings: GuildSettings): Body | undefined {
    const scan = job.scan;
    if (job.kind === 'result') {
      const embed = resultEmbed(job.result, {
        bands: bandsOf(settings),
        ...(scan.media.fileName ? { fileName: scan.media.fileName } : {}),
        ...(job.cache ? { cached: true } : {}),
      });
      return { embeds: [embed] };
    }
    const errorId = errorIdFor(scan.id);
    const level = isActionable(job.error.code) ? 'info' : 'error';
    this.#o.logger[level]({ errorId, scanId: scan.id, code: job.error.code, reason: job.error.message, attempts: job.attempts }, 'scan failed');
    return {
      content: errorText(job.error.code, {
        fileName: scan.media.fileName,
        size: scan.media.size,
        maxBytes: this.#o.maxBytes,
        errorId,
      }),
    };
  }

  async #replyToMessage(
    job: NotifyJob,
    target: { channelId: string; messageId: string },
    body: Body | undefined,
    settings: GuildSettings,
    context: NotifyContext,
  ): Promise<void> {
    if (!body || settings.mode === 'silent') return;
    if (settings.mode === 'react') {
      // An emoji per verdict; failures stay quiet in the channel (the worker logged them).
      if (job.kind !== 'result') return;
      const emoji = viewFor(job.result, bandsOf(settings)).emoji;
      try {
        await this.#o.rest.put(Routes.channelMessageOwnReaction(target.channelId, target.messageId, encodeURIComponent(emoji)), { signal: context.signal });
      } catch (error) {
        if (isApiCode(error, API_CODES.unknownMessage)) return; // deleted meanwhile: nothing to react to
        throw toPlatformError(error, 'add the verdict reaction');
      }
      return;
    }
    // Automatic scans only speak about failures the poster can do something about.
    if (job.kind === 'error' && !isActionable(job.error.code)) return;
    await this.#post(
      target.channelId,
      {
        ...body,
        message_reference: { message_id: target.messageId, channel_id: target.channelId, fail_if_not_exists: false },
        nonce: context.idempotencyKey,
        enforce_nonce: true,
      },
      'reply to the scanned message',
      context,
    );
  }

  async #answerInteraction(
    job: NotifyJob,
    target: { applicationId: string; interactionToken: string; ephemeral: boolean },
    body: Body | undefined,
    context: NotifyContext,
  ): Promise<void> {
    if (!body) return;
    const scan = job.scan;
    const payload = { ...body, allowed_mentions: NO_MENTIONS };
    const age = scan.requestedAt === undefined ? 0 : this.#now() - scan.requestedAt;
    if (age > INTERACTION_TTL_MS) return this.#answerByDm(scan, body, context);
    const { rest } = this.#o;
    const followUp = async (): Promise<void> => {
      await rest.post(Routes.webhook(target.applicationId, target.interactionToken), {
        body: { ...payload, flags: target.ephemeral ? 64 : 0 },
        query: new URLSearchParams({ wait: 'true' }),
        auth: false,
        signal: context.signal,
      });
    };
    try {
      if (await this.#o.alerts.claimOriginal(target.interactionToken, scan.id)) {
        try {
          await rest.patch(Routes.webhookMessage(target.applicationId, target.interactionToken, '@original'), {
            body: { content: payload.content ?? '', embeds: payload.embeds ?? [], allowed_mentions: NO_MENTIONS },
            auth: false,
            signal: context.signal,
          });
        } catch (error) {
          // The user dismissed the "thinking…" message: say it in a follow-up instead.
          if (!isApiCode(error, API_CODES.unknownMessage)) throw error;
          await followUp();
        }
      } else {
        await followUp();
      }
    } catch (error) {
      if (isExpiredToken(error)) return this.#answerByDm(scan, body, context);
      throw toPlatformError(error, 'answer the interaction');
    }
  }

  /** The interaction token is gone (a result slower than 15 minutes): tell the requester privately. */
  async #answerByDm(scan: ScanJob, body: Body, context: NotifyContext): Promise<void> {
    const userId = scan.requestedBy.userId;
    if (!userId) return;
    const { rest, logger } = this.#o;
    try {
      const dm = (await rest.post(Routes.userChannels(), { body: { recipient_id: userId }, signal: context.signal })) as { id: string };
      await rest.post(Routes.channelMessages(dm.id), {
        body: {
          ...body,
          content: `Your check in <#${scan.channelId}> took longer than Discord lets me answer there, so here is the result.${body.content ? `\n${body.content}` : ''}`,
          allowed_mentions: NO_MENTIONS,
          nonce: context.idempotencyKey,
          enforce_nonce: true,
        },
        signal: context.signal,
      });
    } catch (error) {
      if (isApiCode(error, API_CODES.cannotMessageUser)) {
        logger.warn({ scanId: scan.id, userId }, 'result arrived after the interaction expired and the user does not accept DMs');
        return;
      }
      throw toPlatformError(error, 'send the late result by DM');
    }
  }

  // ------------------------------------------------------------------ helpers

  async #post(channelId: string, body: Record<string, unknown>, what: string, context: NotifyContext): Promise<APIMessage> {
    try {
      return (await this.#o.rest.post(Routes.channelMessages(channelId), {
        body: { ...body, allowed_mentions: NO_MENTIONS },
        signal: context.signal,
      })) as APIMessage;
    } catch (error) {
      const mapped = toPlatformError(error, what);
      if (!mapped.retryable) this.#o.logger.warn({ channelId, code: mapped.code, reason: mapped.message }, `could not ${what}`);
      throw mapped;
    }
  }

  /** The scanned message's author, read back from Discord (the job keeps no user data). */
  async #author(scan: ScanJob): Promise<{ id?: string; name?: string; exists: boolean }> {
    if (!scan.messageId) return { exists: false };
    try {
      const m = (await this.#o.rest.get(Routes.channelMessage(scan.channelId, scan.messageId))) as APIMessage;
      return { id: m.author.id, name: m.author.global_name ?? m.author.username, exists: true };
    } catch (error) {
      if (isApiCode(error, API_CODES.unknownMessage)) return { exists: false };
      // No Read Message History, an outage…: alert anyway, without the author.
      this.#o.logger.debug({ scanId: scan.id, err: error }, 'could not read the scanned message');
      return { exists: true };
    }
  }

  async #settings(scan: ScanJob): Promise<GuildSettings> {
    return this.#o.settings.get('discord', scan.workspaceId);
  }
}

export function bandsOf(settings: GuildSettings): { ai: number; uncertain: number } {
  return { ai: settings.alertThreshold, uncertain: Math.min(settings.uncertainThreshold, settings.alertThreshold) };
}

function imageHashes(job: ResultNotifyJob): ImageHashes {
  return { sha256: job.image?.sha256, phash: job.image?.phash };
}
