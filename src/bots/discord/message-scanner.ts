import type { Message } from 'discord.js';
import type { AdapterDeps } from './adapter-deps.js';
import { NO_MENTIONS } from './discord-text.js';
import { errorIdFor, errorText } from './error-text.js';
import { imageRefsOf, type MessageImages } from './image-refs.js';
import { autoScanJob } from './scan-requests.js';

/** The fields image-refs reads, taken off a discord.js Message. */
export function messageImagesOf(message: Message): MessageImages {
  return {
    attachments: [...message.attachments.values()].map((a) => ({
      id: a.id,
      name: a.name,
      url: a.url,
      proxyURL: a.proxyURL,
      size: a.size,
      contentType: a.contentType,
    })),
    embeds: message.embeds.map((e) => ({
      type: e.data.type,
      url: e.url,
      image: e.image ? { url: e.image.url, proxyURL: e.image.proxyURL } : null,
      thumbnail: e.thumbnail ? { url: e.thumbnail.url, proxyURL: e.thumbnail.proxyURL } : null,
    })),
    stickers: [...message.stickers.values()].map((s) => ({ id: s.id, name: s.name, format: s.format, url: s.url })),
  };
}

/**
 * Automatic scans: every supported image of a message posted by a person in a watched channel
 * (or a thread of one) becomes a scan job. Bots, webhooks and system messages are skipped.
 */
export class MessageScanner {
  constructor(private readonly deps: AdapterDeps) {}

  /**
   * Link previews usually arrive in a MESSAGE_UPDATE a moment after the message: scan the
   * embeds then. Job ids are per message and embed index, so an embed seen twice queues once.
   */
  async onMessageUpdate(message: Message): Promise<void> {
    if (message.embeds.length === 0) return;
    await this.onMessage(message, 'embed');
  }

  async onMessage(message: Message, only?: 'embed'): Promise<void> {
    if (!message.inGuild() || message.author.bot || message.webhookId !== null || message.system) return;
    const { settings: store, producer, logger, now } = this.deps;
    const settings = await store.get('discord', message.guildId);
    if (!settings.enabled || settings.watchedChannels.length === 0 || (only === 'embed' && !settings.scanEmbeds)) return;
    const channel = message.channel;
    const watched = settings.watchedChannels.includes(channel.id) || (channel.isThread() && channel.parentId !== null && settings.watchedChannels.includes(channel.parentId));
    if (!watched) return;

    const refs = imageRefsOf(messageImagesOf(message), {
      scanEmbeds: settings.scanEmbeds,
      stickers: settings.scanStickers,
      mediaHosts: this.deps.mediaHosts,
    }).filter((r) => r.supported && (only === undefined || r.kind === only));
    if (refs.length === 0) return;

    const at = { guildId: message.guildId, channelId: channel.id, messageId: message.id };
    for (const ref of refs) {
      if (ref.size !== undefined && ref.size > this.deps.maxBytes) {
        logger.info({ ...at, size: ref.size }, 'attachment too large to scan');
        if (settings.mode === 'reply') {
          await message
            .reply({ content: errorText('too_large', { fileName: ref.fileName, size: ref.size, maxBytes: this.deps.maxBytes, errorId: '' }), allowedMentions: NO_MENTIONS })
            .catch((error: unknown) => logger.warn({ ...at, err: error }, 'could not post the "too large" reply'));
        }
        continue;
      }
      const job = autoScanJob(ref, at, settings, now());
      try {
        await producer.enqueue(job);
      } catch (error) {
        // Nobody is waiting on an automatic scan: log it (with an id an operator can grep for).
        logger.error({ ...at, errorId: errorIdFor(job.id), scanId: job.id, err: error }, 'could not queue an automatic scan');
      }
    }
  }
}
