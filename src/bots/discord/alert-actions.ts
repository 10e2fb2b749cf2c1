import { MessageFlags, PermissionFlagsBits, Routes, type APIActionRowComponent, type APIButtonComponent, type APIEmbed, type ButtonInteraction } from 'discord.js';
import type { AdapterDeps } from './adapter-deps.js';
import { NO_MENTIONS } from './discord-text.js';
import { parseAlertCustomId, resolvedAlert } from './render-result.js';
import { API_CODES, isApiCode } from './rest-errors.js';

/**
 * The Delete and Dismiss buttons of a moderator alert. Only members with Manage Messages may
 * use them (checked here: anyone who can see the alert channel can click). Every action, and
 * every refused click, goes to the server's audit trail; the alert is edited to say who did what.
 */
export class AlertActions {
  constructor(private readonly deps: AdapterDeps) {}

  async handle(interaction: ButtonInteraction): Promise<void> {
    const parsed = parseAlertCustomId(interaction.customId);
    if (!parsed || !interaction.inGuild()) return;
    const { alerts, logger, now } = this.deps;
    const context = await alerts.getAlert(parsed.alertId);
    const ephemeral = (content: string) => interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });

    if (!context || context.guildId !== interaction.guildId) {
      await ephemeral('This alert is too old: its buttons no longer work.');
      return;
    }
    const base = { alertId: parsed.alertId, channelId: context.channelId, userId: interaction.user.id, ...(context.messageId ? { messageId: context.messageId } : {}) };
    if (!interaction.memberPermissions.has(PermissionFlagsBits.ManageMessages)) {
      await alerts.audit(interaction.guildId, { ...base, at: now(), action: 'denied' });
      logger.info({ ...base, guildId: interaction.guildId, attempted: parsed.action }, 'alert action refused: missing Manage Messages');
      await ephemeral('You need the **Manage Messages** permission to act on alerts.');
      return;
    }

    let kind: 'deleted' | 'dismissed' | 'already_deleted';
    if (parsed.action === 'dismiss') {
      await alerts.dismiss(interaction.guildId, { sha256: context.sha256, phash: context.phash });
      kind = 'dismissed';
    } else {
      if (!context.messageId) {
        await ephemeral('This alert has no message to delete.');
        return;
      }
      try {
        await interaction.client.rest.delete(Routes.channelMessage(context.channelId, context.messageId), {
          reason: `genguard alert: deleted by ${interaction.user.username} (${interaction.user.id})`,
        });
        kind = 'deleted';
      } catch (error) {
        if (isApiCode(error, API_CODES.unknownMessage)) {
          kind = 'already_deleted';
        } else if (isApiCode(error, API_CODES.missingPermissions, API_CODES.missingAccess)) {
          await ephemeral(`I can't delete messages in <#${context.channelId}>: give me the **Manage Messages** permission there.`);
          return;
        } else {
          throw error;
        }
      }
    }
    const at = now();
    await alerts.audit(interaction.guildId, { ...base, at, action: kind });
    logger.info({ ...base, guildId: interaction.guildId, action: kind }, 'moderator acted on an alert');
    const current = {
      embeds: interaction.message.embeds.map((e) => e.toJSON() as APIEmbed),
      components: interaction.message.components.map((c) => c.toJSON() as APIActionRowComponent<APIButtonComponent>),
    };
    await interaction.update({ ...resolvedAlert(current, { kind, userId: interaction.user.id, at }), allowedMentions: NO_MENTIONS });
  }
}
