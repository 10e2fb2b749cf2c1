import type { types } from '@slack/bolt';
import type { ResultView } from '../shared/result-view.js';
import { LIMITS, channelMention, escapeAndFit, escapeMrkdwn, fit, link, userMention } from './mrkdwn.js';

type KnownBlock = types.KnownBlock;

/**
 * Block Kit renderings of the shared ResultView. Only markup lives here: what is said comes from
 * buildResultView, so Slack and Discord moderators read the same verdict.
 */

export interface SlackMessageBody {
  /** Fallback for notifications and screen readers. */
  text: string;
  blocks: KnownBlock[];
}

export const ACTION_DISMISS = 'genguard_alert_dismiss';
export const ACTION_DELETE = 'genguard_alert_delete';
const BLOCK_ALERT_ACTIONS = 'genguard_alert_actions';
const BLOCK_DELETE_NOTE = 'genguard_delete_note';

function section(text: string, blockId?: string): KnownBlock {
  const block: KnownBlock = { type: 'section', text: { type: 'mrkdwn', text: fit(text, LIMITS.sectionText) } };
  if (blockId !== undefined) block.block_id = blockId;
  return block;
}

function context(texts: string[], blockId?: string): KnownBlock {
  const block: KnownBlock = {
    type: 'context',
    elements: texts
      .filter((t) => t !== '')
      .slice(0, LIMITS.contextElements)
      .map((t) => ({ type: 'mrkdwn' as const, text: fit(t, LIMITS.contextText) })),
  };
  if (blockId !== undefined) block.block_id = blockId;
  return block;
}

function modelLines(view: ResultView): string {
  return view.models.map((m) => `\`${m.bar}\` ${m.score.toFixed(2)}  ${escapeMrkdwn(m.id)}`).join('\n');
}

function detailBlocks(view: ResultView): KnownBlock[] {
  const blocks: KnownBlock[] = [];
  if (view.models.length > 0) blocks.push(section(`*Per-model scores*\n${modelLines(view)}`));
  blocks.push(context([escapeMrkdwn(view.answered), escapeMrkdwn(view.latency)]));
  if (view.evidence.length > 0) {
    blocks.push(section(`*Evidence*\n${view.evidence.map((e) => `• ${escapeMrkdwn(e)}`).join('\n')}`));
  }
  if (view.notes.length > 0) blocks.push(context(view.notes.map(escapeMrkdwn)));
  blocks.push(context([`_${escapeMrkdwn(view.reminder)}_`]));
  return blocks;
}

/** The verdict as a reply (thread or `response_url`). */
export function renderResult(view: ResultView, fileName?: string): SlackMessageBody {
  const file = fileName === undefined ? '' : ` · ${escapeAndFit(fileName, 200)}`;
  const blocks = [section(`${view.emoji} *${escapeMrkdwn(view.headline)}*${file}\n${escapeMrkdwn(view.scoreLine)}`), ...detailBlocks(view)];
  return {
    text: fit(`${view.emoji} ${escapeMrkdwn(view.headline)} (${escapeMrkdwn(view.scoreLine)})${file}`, LIMITS.fallbackText),
    blocks: blocks.slice(0, LIMITS.blocksPerMessage),
  };
}

export interface AlertInput {
  view: ResultView;
  channelId: string;
  userId?: string;
  fileName?: string;
  permalink?: string;
  /** Serialised AlertRef for the buttons; see alert-actions.ts. */
  actionValue: string;
  /** Delete needs an admin user token; without one the alert says so instead of offering a button that fails. */
  canDelete: boolean;
}

export function renderAlert(input: AlertInput): SlackMessageBody {
  const { view } = input;
  const where = [
    input.userId === undefined ? 'Posted' : `Posted by ${userMention(input.userId)}`,
    `in ${channelMention(input.channelId)}`,
    input.permalink === undefined ? '' : `· ${link(input.permalink, 'View message')}`,
  ]
    .filter(Boolean)
    .join(' ');
  const file = input.fileName === undefined ? '' : `\nFile: ${escapeAndFit(input.fileName, 200)}`;
  const buttons: KnownBlock = {
    type: 'actions',
    block_id: BLOCK_ALERT_ACTIONS,
    elements: [
      {
        type: 'button',
        action_id: ACTION_DISMISS,
        text: { type: 'plain_text', text: 'Dismiss (false positive)' },
        value: input.actionValue,
      },
    ],
  };
  if (input.canDelete) {
    buttons.elements.push({
      type: 'button',
      action_id: ACTION_DELETE,
      style: 'danger',
      text: { type: 'plain_text', text: 'Delete message' },
      value: input.actionValue,
      confirm: {
        title: { type: 'plain_text', text: 'Delete this message?' },
        text: { type: 'mrkdwn', text: 'The original message and its files are removed for everyone.' },
        confirm: { type: 'plain_text', text: 'Delete' },
        deny: { type: 'plain_text', text: 'Cancel' },
      },
    });
  }
  const blocks: KnownBlock[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: fit(`${view.emoji} ${view.headline} image`, LIMITS.headerText), emoji: true },
    },
    section(`${where}${file}\n*${escapeMrkdwn(view.scoreLine)}*`),
    ...detailBlocks(view),
    buttons,
  ];
  if (!input.canDelete) {
    blocks.push(
      context(
        [
          'Delete is unavailable: a bot token can only delete messages the bot posted. ' +
            'Set `SLACK_ADMIN_USER_TOKEN` (a workspace admin’s user token with `chat:write` and `files:write`) to delete flagged messages from here.',
        ],
        BLOCK_DELETE_NOTE,
      ),
    );
  }
  return {
    text: fit(`${view.emoji} ${escapeMrkdwn(view.headline)} image in ${channelMention(input.channelId)} (${escapeMrkdwn(view.scoreLine)})`, LIMITS.fallbackText),
    blocks: blocks.slice(0, LIMITS.blocksPerMessage),
  };
}

/** The alert after a moderator acted on it: buttons gone, who did what added. */
export function resolveAlert(blocks: readonly KnownBlock[], note: string): KnownBlock[] {
  const kept = blocks.filter((b) => b.type !== 'actions' && b.block_id !== BLOCK_DELETE_NOTE);
  return [...kept.slice(0, LIMITS.blocksPerMessage - 1), context([note])];
}

/** Human wording per error code; the technical message follows in small print. */
const ERROR_HEADLINES: Partial<Record<string, string>> = {
  auth_failed: 'Slack did not let me download this file.',
  permission_denied: 'I am not allowed to read this file.',
  too_large: 'The image is too large to check.',
  too_many_pixels: 'The image has too many pixels to check.',
  unsupported_format: 'This file type cannot be checked.',
  decode_failed: 'The image could not be decoded.',
  empty_input: 'The file is empty.',
  not_found: 'The file was not found (deleted?).',
  fetch_refused: 'That address cannot be fetched.',
  fetch_timeout: 'Downloading the image timed out.',
  fetch_failed: 'Downloading the image failed.',
  http_error: 'Downloading the image failed.',
  redirect_limit: 'The image URL redirected too many times.',
  usage: 'That did not work.',
};

export interface ErrorInput {
  code: string;
  message: string;
  fileName?: string;
  /** Extra advice (e.g. the missing `files:read` scope), already safe mrkdwn. */
  hint?: string;
}

export function renderError(input: ErrorInput): SlackMessageBody {
  const headline = ERROR_HEADLINES[input.code] ?? 'The check failed.';
  const file = input.fileName === undefined ? '' : ` (${escapeAndFit(input.fileName, 200)})`;
  const blocks: KnownBlock[] = [section(`:warning: *${headline}*${file}${input.hint === undefined ? '' : `\n${input.hint}`}`)];
  blocks.push(context([`\`${escapeMrkdwn(input.code)}\` ${escapeAndFit(input.message, 1500)}`]));
  return { text: fit(`⚠️ ${headline}${file}`, LIMITS.fallbackText), blocks };
}

/** A plain ephemeral/status line (command acknowledgements, settings answers). */
export function renderNotice(mrkdwn: string): SlackMessageBody {
  return { text: fit(mrkdwn, LIMITS.fallbackText), blocks: [section(mrkdwn)] };
}
