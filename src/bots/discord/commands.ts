import type { RESTPutAPIApplicationCommandsJSONBody } from 'discord.js';

/**
 * The application commands genguard registers (bulk overwrite on start-up, so a removed
 * command disappears too): `/aicheck`, the "Check for AI" message context menu and the
 * `/aiscan` settings, which Discord shows only to members with Manage Server (checked again
 * on use, because server admins can override command permissions).
 */

export const COMMAND_NAMES = {
  check: 'aicheck',
  contextMenu: 'Check for AI',
  settings: 'aiscan',
} as const;

/** Permission bits as the API writes them (decimal strings). */
export const MANAGE_GUILD = 1n << 5n;
export const MANAGE_MESSAGES = 1n << 13n;

const TEXT_CHANNELS = [0, 5, 15]; // text, announcement, forum (its posts are threads)
const ALERT_CHANNELS = [0, 5, 11, 12]; // text, announcement, public/private thread

const OPTION = { subcommand: 1, string: 3, boolean: 5, channel: 7, number: 10, attachment: 11 } as const;

export const MODES = ['reply', 'react', 'silent'] as const;
export const BACKEND_CHOICES = ['default', 'local', 'bitmind', 'bijou', 'cascade'] as const;

export function commandDefinitions(): RESTPutAPIApplicationCommandsJSONBody {
  return [
    {
      type: 1,
      name: COMMAND_NAMES.check,
      description: 'Check whether an image is likely AI-generated (only you see the answer)',
      contexts: [0, 1],
      integration_types: [0],
      options: [
        { type: OPTION.attachment, name: 'image', description: 'The image to check', required: false },
        { type: OPTION.string, name: 'url', description: 'Link to an image to check', required: false, max_length: 2000 },
      ],
    },
    { type: 3, name: COMMAND_NAMES.contextMenu, contexts: [0], integration_types: [0] },
    {
      type: 1,
      name: COMMAND_NAMES.settings,
      description: 'AI image scanning settings for this server',
      default_member_permissions: MANAGE_GUILD.toString(),
      contexts: [0],
      integration_types: [0],
      options: [
        { type: OPTION.subcommand, name: 'status', description: 'Show the current settings' },
        {
          type: OPTION.subcommand,
          name: 'watch',
          description: 'Scan images posted in a channel (and its threads)',
          options: [{ type: OPTION.channel, name: 'channel', description: 'Channel to watch', required: true, channel_types: TEXT_CHANNELS }],
        },
        {
          type: OPTION.subcommand,
          name: 'unwatch',
          description: 'Stop scanning a channel',
          options: [{ type: OPTION.channel, name: 'channel', description: 'Channel to stop watching', required: true, channel_types: TEXT_CHANNELS }],
        },
        {
          type: OPTION.subcommand,
          name: 'alerts',
          description: 'Where moderator alerts go',
          options: [{ type: OPTION.channel, name: 'channel', description: "The moderators' channel", required: true, channel_types: ALERT_CHANNELS }],
        },
        {
          type: OPTION.subcommand,
          name: 'threshold',
          description: 'Alert when the AI score is at or above this (default 0.7)',
          options: [{ type: OPTION.number, name: 'value', description: 'Between 0.05 and 1', required: true, min_value: 0.05, max_value: 1 }],
        },
        {
          type: OPTION.subcommand,
          name: 'uncertain',
          description: 'Scores from this up to the alert threshold are shown as uncertain (default 0.4)',
          options: [{ type: OPTION.number, name: 'value', description: 'Between 0 and the alert threshold', required: true, min_value: 0, max_value: 1 }],
        },
        {
          type: OPTION.subcommand,
          name: 'mode',
          description: 'How automatic scans answer in the channel',
          options: [
            {
              type: OPTION.string,
              name: 'value',
              description: 'reply: a short verdict; react: an emoji; silent: moderator alerts only',
              required: true,
              choices: MODES.map((m) => ({ name: m, value: m })),
            },
          ],
        },
        {
          type: OPTION.subcommand,
          name: 'backend',
          description: 'Detection backend for this server',
          options: [
            {
              type: OPTION.string,
              name: 'value',
              description: 'default: the deployment’s choice',
              required: true,
              choices: BACKEND_CHOICES.map((b) => ({ name: b, value: b })),
            },
          ],
        },
        {
          type: OPTION.subcommand,
          name: 'links',
          description: 'Also scan images from links (embeds)',
          options: [{ type: OPTION.boolean, name: 'enabled', description: 'Scan image links', required: true }],
        },
        {
          type: OPTION.subcommand,
          name: 'stickers',
          description: 'Also scan stickers',
          options: [{ type: OPTION.boolean, name: 'enabled', description: 'Scan stickers', required: true }],
        },
        { type: OPTION.subcommand, name: 'on', description: 'Turn automatic scanning on' },
        { type: OPTION.subcommand, name: 'off', description: 'Turn automatic scanning off (commands keep working)' },
      ],
    },
  ];
}
