import {
  MessageFlags,
  PermissionFlagsBits,
  type ChatInputCommandInteraction,
  type Interaction,
  type MessageContextMenuCommandInteraction,
  type RepliableInteraction,
} from 'discord.js';
import { isGenguardError } from '../../errors/genguard-error.js';
import type { AdapterDeps } from './adapter-deps.js';
import { AlertActions } from './alert-actions.js';
import { COMMAND_NAMES } from './commands.js';
import { escapeText, NO_MENTIONS } from './discord-text.js';
import { errorIdFor, errorText } from './error-text.js';
import { classifyAttachment, imageRefsOf, isMediaHost, type ImageRef } from './image-refs.js';
import { messageImagesOf } from './message-scanner.js';
import { interactionScanJob, type InteractionAt } from './scan-requests.js';
import { runSettingsCommand } from './settings-command.js';

/**
 * Slash commands, the message context menu and alert buttons. Checks defer at once (Discord
 * wants an answer within 3 s) and leave the verdict to the notifier, which edits `@original`.
 */
export class InteractionHandlers {
  readonly #deps: AdapterDeps;
  readonly #actions: AlertActions;

  constructor(deps: AdapterDeps) {
    this.#deps = deps;
    this.#actions = new AlertActions(deps);
  }

  async handle(interaction: Interaction): Promise<void> {
    try {
      if (interaction.isChatInputCommand()) {
        if (interaction.commandName === COMMAND_NAMES.check) return await this.#check(interaction);
        if (interaction.commandName === COMMAND_NAMES.settings) return await this.#settings(interaction);
      } else if (interaction.isMessageContextMenuCommand() && interaction.commandName === COMMAND_NAMES.contextMenu) {
        return await this.#checkMessage(interaction);
      } else if (interaction.isButton()) {
        return await this.#actions.handle(interaction);
      }
    } catch (error) {
      await this.#internalError(interaction, error);
    }
  }

  async #check(interaction: ChatInputCommandInteraction): Promise<void> {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const attachment = interaction.options.getAttachment('image');
    const url = interaction.options.getString('url')?.trim();
    if ((attachment && url) || (!attachment && !url)) {
      await this.#edit(interaction, 'Give me one image: attach it with the `image` option, or paste a link in `url`.');
      return;
    }
    let ref: ImageRef;
    if (attachment) {
      const kind = classifyAttachment({ name: attachment.name, contentType: attachment.contentType });
      if (!kind.image) return this.#edit(interaction, `**${escapeText(attachment.name, 100)}** is not an image.`);
      if (!kind.supported) return this.#edit(interaction, errorText('unsupported_format', { fileName: attachment.name, errorId: '' }));
      if (!isMediaHost(attachment.url, this.#deps.mediaHosts)) {
        return this.#edit(interaction, 'I can only download attachments from Discord’s CDN.');
      }
      ref = { kind: 'attachment', key: attachment.id, url: attachment.url, fileName: attachment.name, size: attachment.size, supported: true };
      if (attachment.contentType) ref.contentType = attachment.contentType;
    } else {
      const parsed = parseHttpUrl(url!);
      if (!parsed) return this.#edit(interaction, 'That does not look like an http(s) link to an image.');
      ref = { kind: 'embed', key: 'url', url: parsed, fileName: lastSegment(parsed), supported: true };
    }
    await this.#enqueue(interaction, [ref], 'slash_command');
  }

  async #checkMessage(interaction: MessageContextMenuCommandInteraction): Promise<void> {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const target = interaction.targetMessage;
    // An explicit request: links and stickers count whatever the server's automatic settings say.
    const refs = imageRefsOf(messageImagesOf(target), { scanEmbeds: true, stickers: true, mediaHosts: this.#deps.mediaHosts });
    if (refs.length === 0) return this.#edit(interaction, 'I found no images in that message.');
    await this.#enqueue(interaction, refs, 'context_menu', target.id);
  }

  async #enqueue(
    interaction: ChatInputCommandInteraction | MessageContextMenuCommandInteraction,
    refs: ImageRef[],
    trigger: 'slash_command' | 'context_menu',
    targetMessageId?: string,
  ): Promise<void> {
    const { producer, settings: store, alerts, maxBytes, now, logger } = this.#deps;
    const skipped: string[] = [];
    const queue: ImageRef[] = [];
    for (const ref of refs) {
      const name = ref.fileName ?? 'image';
      if (!ref.supported) skipped.push(errorText('unsupported_format', { fileName: name, errorId: '' }));
      else if (ref.size !== undefined && ref.size > maxBytes) skipped.push(errorText('too_large', { fileName: name, size: ref.size, maxBytes, errorId: '' }));
      else queue.push(ref);
    }
    if (queue.length === 0) return this.#edit(interaction, skipped.join('\n'));

    const settings = await store.get('discord', interaction.guildId ?? '@me');
    const at: InteractionAt = {
      interactionId: interaction.id,
      applicationId: interaction.applicationId,
      token: interaction.token,
      userId: interaction.user.id,
      guildId: interaction.guildId,
      channelId: interaction.channelId,
      locale: interaction.locale,
    };
    const jobs = queue.map((ref) => interactionScanJob(ref, at, trigger, settings, now(), targetMessageId ? { messageId: targetMessageId } : undefined));
    // One image: its verdict replaces "thinking…". Several (or some skipped): a summary stays on
    // top and each verdict follows up, so no answer overwrites another.
    if (jobs.length > 1 || skipped.length > 0) {
      await alerts.claimOriginal(interaction.token, `summary-${interaction.id}`);
      const head = jobs.length === 1 ? 'Checking 1 image…' : `Checking ${jobs.length} images…`;
      await this.#edit(interaction, [head, ...skipped].join('\n'));
    }
    let queued = 0;
    for (const job of jobs) {
      try {
        await producer.enqueue(job);
        queued++;
      } catch (error) {
        const errorId = errorIdFor(job.id);
        logger.error({ errorId, scanId: job.id, err: error }, 'could not queue a requested scan');
        const text = isGenguardError(error) && error.code === 'queue_unavailable'
          ? `⚠️ I can't start checks right now; please try again in a minute. (error id: \`${errorId}\`)`
          : errorText('internal', { errorId });
        if (queued === 0 && jobs.length === 1 && skipped.length === 0) await this.#edit(interaction, text);
        else await interaction.followUp({ content: text, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
      }
    }
  }

  async #settings(interaction: ChatInputCommandInteraction): Promise<void> {
    if (!interaction.inGuild()) {
      await interaction.reply({ content: 'Use `/aiscan` in a server.', flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
      return;
    }
    if (!interaction.memberPermissions.has(PermissionFlagsBits.ManageGuild)) {
      await interaction.reply({ content: 'You need the **Manage Server** permission to change these settings.', flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
      return;
    }
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const o = interaction.options;
    const text = await runSettingsCommand(
      this.#deps.settings,
      interaction.guildId,
      o.getSubcommand(true),
      {
        channelId: (name) => o.getChannel(name)?.id,
        number: (name) => o.getNumber(name) ?? undefined,
        string: (name) => o.getString(name) ?? undefined,
        boolean: (name) => o.getBoolean(name) ?? undefined,
      },
      { messageContent: this.#deps.messageContent() },
    ).catch((error: unknown) => {
      if (isGenguardError(error) && error.code === 'usage') return `⚠️ ${escapeText(error.message, 300)}`;
      throw error;
    });
    this.#deps.logger.info({ guildId: interaction.guildId, userId: interaction.user.id, sub: o.getSubcommand(true) }, 'settings command');
    await this.#edit(interaction, text);
  }

  async #edit(interaction: RepliableInteraction, content: string): Promise<void> {
    await interaction.editReply({ content, embeds: [], allowedMentions: NO_MENTIONS });
  }

  async #internalError(interaction: Interaction, error: unknown): Promise<void> {
    const errorId = errorIdFor();
    this.#deps.logger.error({ errorId, interactionId: interaction.id, type: interaction.type, err: error }, 'interaction failed');
    if (!interaction.isRepliable()) return;
    const content = errorText('internal', { errorId });
    try {
      if (interaction.deferred || interaction.replied) await interaction.editReply({ content, embeds: [], components: [], allowedMentions: NO_MENTIONS });
      else await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
    } catch (replyError) {
      this.#deps.logger.warn({ errorId, err: replyError }, 'could not report the error to the user');
    }
  }
}

function parseHttpUrl(raw: string): string | undefined {
  try {
    const u = new URL(raw);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : undefined;
  } catch {
    return undefined;
  }
}

function lastSegment(url: string): string {
  const last = new URL(url).pathname.split('/').filter(Boolean).pop();
  if (!last) return new URL(url).hostname;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

