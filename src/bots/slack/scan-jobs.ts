import { scanJobId, type ReplyTarget, type ScanJobInput, type Trigger } from '../../queue/scan-job.js';
import type { GuildSettings } from '../shared/guild-settings.js';
import type { SlackImageRef } from './file-refs.js';

/** The Slack part of a scan request, before the settings are folded in. */
export interface SlackScanRequest {
  teamId: string;
  enterpriseId?: string | undefined;
  channelId: string;
  /** `ts` of the message holding the image; absent for a bare URL. */
  messageTs?: string | undefined;
  authorId?: string | undefined;
  /** A Slack file (url_private_download, needs the bot token)… */
  image?: SlackImageRef | undefined;
  /** …or a URL given to /aicheck; `withBotToken` only for Slack's own file host. */
  url?: { href: string; withBotToken: boolean } | undefined;
  trigger: Trigger;
  userId?: string | undefined;
  reply: ReplyTarget;
  /** What makes this request unique (event: channel/ts/file; command: trigger id). */
  idParts: string[];
}

/** A scan job for the queue (ScanProducer validates it). */
export function buildSlackScanJob(request: SlackScanRequest, settings: GuildSettings, now = Date.now()): ScanJobInput {
  const slackAuth = {
    kind: 'slack-bot' as const,
    teamId: request.teamId,
    ...(request.enterpriseId === undefined ? {} : { enterpriseId: request.enterpriseId }),
  };
  const media: ScanJobInput['media'] = request.image
    ? {
        url: request.image.url,
        auth: slackAuth,
        fileName: request.image.name.slice(0, 1000),
        ...(request.image.size === undefined ? {} : { size: request.image.size }),
        ...(request.image.mimetype === undefined ? {} : { contentType: request.image.mimetype.slice(0, 200) }),
      }
    : {
        url: request.url?.href ?? '',
        ...(request.url?.withBotToken === true ? { auth: slackAuth } : {}),
        fileName: (request.url?.href ?? '').slice(0, 1000),
      };
  return {
    id: scanJobId('slack', request.teamId, ...request.idParts),
    platform: 'slack',
    workspaceId: request.teamId,
    channelId: request.channelId,
    ...(request.messageTs === undefined ? {} : { messageId: request.messageTs }),
    ...(request.image === undefined ? {} : { attachmentId: request.image.fileId }),
    ...(request.authorId === undefined ? {} : { authorId: request.authorId }),
    media,
    requestedBy: { trigger: request.trigger, ...(request.userId === undefined ? {} : { userId: request.userId }) },
    reply: request.reply,
    alertThreshold: settings.alertThreshold,
    ...(settings.alertChannel === undefined ? {} : { alertChannelId: settings.alertChannel }),
    ...(settings.backend === undefined ? {} : { backend: settings.backend }),
    requestedAt: now,
  };
}

/**
 * Whether a URL typed into /aicheck may receive the bot token: https on a SLACK_FILE_HOSTS host.
 * Plain http only for an entry naming host:port explicitly (a local fake in tests), so the
 * token never travels unencrypted to Slack's real host.
 */
export function isSlackFileHost(url: URL, fileHosts: readonly string[]): boolean {
  const host = url.host.toLowerCase();
  return fileHosts.some((entry) => {
    const e = entry.trim().toLowerCase();
    if (url.protocol === 'https:') return e === host || e === url.hostname.toLowerCase();
    return url.protocol === 'http:' && e.includes(':') && e === host;
  });
}
