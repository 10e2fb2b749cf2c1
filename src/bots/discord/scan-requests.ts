import type { GuildSettings } from '../shared/guild-settings.js';
import { scanJobId, type ScanJobInput } from '../../queue/scan-job.js';
import type { ImageRef } from './image-refs.js';

/**
 * Scan jobs for the three ways a Discord image gets checked. Pure: ids come from the event
 * (message / interaction id + image key), so a redelivered event enqueues the same job id and
 * the queue drops the duplicate.
 */

function media(ref: ImageRef): ScanJobInput['media'] {
  return {
    url: ref.url,
    ...(ref.fileName !== undefined ? { fileName: ref.fileName.slice(0, 1000) } : {}),
    ...(ref.size !== undefined ? { size: ref.size } : {}),
    ...(ref.contentType !== undefined ? { contentType: ref.contentType.slice(0, 200) } : {}),
  };
}

function serverChoices(settings: GuildSettings): Pick<ScanJobInput, 'alertThreshold' | 'alertChannelId' | 'backend'> {
  return {
    alertThreshold: settings.alertThreshold,
    ...(settings.alertChannel ? { alertChannelId: settings.alertChannel } : {}),
    ...(settings.backend ? { backend: settings.backend } : {}),
  };
}

/** An image posted in a watched channel. */
export function autoScanJob(
  ref: ImageRef,
  at: { guildId: string; channelId: string; messageId: string },
  settings: GuildSettings,
  now: number,
): ScanJobInput {
  return {
    id: scanJobId('discord', at.guildId, at.channelId, at.messageId, ref.key),
    platform: 'discord',
    workspaceId: at.guildId,
    channelId: at.channelId,
    messageId: at.messageId,
    ...(ref.kind === 'attachment' ? { attachmentId: ref.key } : {}),
    media: media(ref),
    requestedBy: { trigger: 'auto' },
    // Silent servers only get moderator alerts; react/reply are decided by the notifier at answer time.
    reply: settings.mode === 'silent' ? { kind: 'none' } : { kind: 'message_reply', channelId: at.channelId, messageId: at.messageId },
    ...serverChoices(settings),
    requestedAt: now,
  };
}

export interface InteractionAt {
  interactionId: string;
  applicationId: string;
  token: string;
  userId: string;
  /** Absent in DMs with the bot. */
  guildId: string | null;
  channelId: string | null;
  locale?: string;
}

/** `/aicheck` (trigger slash_command) or "Check for AI" on a message (context_menu). */
export function interactionScanJob(
  ref: ImageRef,
  at: InteractionAt,
  trigger: 'slash_command' | 'context_menu',
  settings: GuildSettings,
  now: number,
  target?: { messageId: string },
): ScanJobInput {
  return {
    id: scanJobId('discord', 'i', at.interactionId, ref.key),
    platform: 'discord',
    workspaceId: at.guildId ?? '@me',
    channelId: at.channelId ?? '@me',
    ...(target ? { messageId: target.messageId } : {}),
    ...(ref.kind === 'attachment' && target ? { attachmentId: ref.key } : {}),
    media: media(ref),
    requestedBy: { trigger, userId: at.userId },
    reply: { kind: 'interaction', applicationId: at.applicationId, interactionToken: at.token, ephemeral: true },
    ...(at.guildId ? serverChoices(settings) : {}),
    ...(at.locale ? { locale: at.locale.slice(0, 35) } : {}),
    requestedAt: now,
  };
}
