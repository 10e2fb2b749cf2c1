import { createHash } from 'node:crypto';
import { z } from 'zod';
import { GenguardError } from '../errors/genguard-error.js';

/**
 * A scan job: everything a worker needs to fetch one image, run detection and route the answer
 * back, as small JSON. It is stored in Redis, so it never holds image bytes or long-lived secrets
 * (a Slack bot token is referred to by `media.auth`, resolved by the worker). Short-lived answer
 * addresses (a Discord interaction token, a Slack `response_url`) are part of the job: they are
 * the only way to answer, and they expire within 15–30 minutes anyway.
 *
 * Adapters build one with `scanJobSchema.parse({...})` (or pass the input type to
 * `ScanProducer.enqueue`, which validates it) and use `scanJobId()` for the id.
 */

export const platformSchema = z.enum(['discord', 'slack']);
export type Platform = z.infer<typeof platformSchema>;

/** BullMQ job ids cannot contain ":"; ids are also used inside Redis keys. */
export const jobIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.-]+$/, 'job ids use letters, digits, "_", "." and "-" only');

/**
 * Credentials needed to download the media, by reference only. The worker's
 * `CredentialsResolver` turns it into request headers at fetch time.
 */
export const mediaAuthSchema = z.discriminatedUnion('kind', [
  /** Slack private file URLs need `Authorization: Bearer <bot token>` of the installation. */
  z.object({ kind: z.literal('slack-bot'), teamId: z.string().min(1), enterpriseId: z.string().min(1).optional() }),
]);
export type MediaAuth = z.infer<typeof mediaAuthSchema>;

export const mediaSchema = z.object({
  /** http(s) URL of the image (Discord CDN, Slack `url_private_download`, an embed link). */
  url: z.url({ protocol: /^https?$/ }),
  auth: mediaAuthSchema.optional(),
  fileName: z.string().max(1000).optional(),
  /** Size the platform announced, in bytes (the loader still enforces the real limit). */
  size: z.number().int().min(0).optional(),
  contentType: z.string().max(200).optional(),
});
export type Media = z.infer<typeof mediaSchema>;

/**
 * Why the scan runs. `slash_command` and `context_menu` (Discord message command, Slack message
 * shortcut) have a person waiting and overtake `auto` scans of posted messages.
 */
export const triggerSchema = z.enum(['auto', 'slash_command', 'context_menu']);
export type Trigger = z.infer<typeof triggerSchema>;

export const requesterSchema = z.object({
  trigger: triggerSchema,
  /** Who asked (absent for automatic scans). */
  userId: z.string().min(1).optional(),
});

/** Where the answer goes. The notifier of `platform` interprets it. */
export const replyTargetSchema = z.discriminatedUnion('kind', [
  /** A new message in a channel. */
  z.object({ kind: z.literal('channel'), channelId: z.string().min(1) }),
  /** Discord: a reply referencing the scanned message. */
  z.object({ kind: z.literal('message_reply'), channelId: z.string().min(1), messageId: z.string().min(1) }),
  /** Slack: a threaded reply (`thread_ts`); Discord: a message in a thread channel. */
  z.object({ kind: z.literal('thread'), channelId: z.string().min(1), threadId: z.string().min(1) }),
  /** Discord: edit/follow up a deferred interaction (token valid 15 minutes). */
  z.object({
    kind: z.literal('interaction'),
    applicationId: z.string().min(1),
    interactionToken: z.string().min(1),
    ephemeral: z.boolean().default(false),
  }),
  /** Slack: post to a slash command's / shortcut's `response_url` (valid 30 minutes). */
  z.object({
    kind: z.literal('response_url'),
    url: z.url({ protocol: /^https$/ }),
    ephemeral: z.boolean().default(true),
  }),
  /** Slack: an ephemeral message only `userId` sees. */
  z.object({ kind: z.literal('ephemeral'), channelId: z.string().min(1), userId: z.string().min(1) }),
  /** No reply (e.g. settings mode "silent"): only the moderator alert, if any. */
  z.object({ kind: z.literal('none') }),
]);
export type ReplyTarget = z.infer<typeof replyTargetSchema>;

export const backendIdSchema = z.enum(['local', 'bitmind', 'bijou', 'cascade']);

export const scanJobSchema = z.object({
  /** Schema version, for rolling upgrades. */
  v: z.literal(1).default(1),
  /** Stable id of this scan: the BullMQ job id and the idempotency root of its replies (see scanJobId). */
  id: jobIdSchema,
  platform: platformSchema,
  /** Discord guild id or Slack team id. */
  workspaceId: z.string().min(1),
  channelId: z.string().min(1),
  /** Discord message id or Slack message `ts`. */
  messageId: z.string().min(1).optional(),
  /** Discord attachment id or Slack file id. */
  attachmentId: z.string().min(1).optional(),
  /** Who posted the scanned message (for "Posted by" in moderator alerts); absent for a bare URL. */
  authorId: z.string().min(1).max(64).optional(),
  media: mediaSchema,
  requestedBy: requesterSchema,
  reply: replyTargetSchema,
  /** Moderator alert at score ≥ this; from the workspace settings (worker default: GENGUARD_AI_THRESHOLD). */
  alertThreshold: z.number().min(0).max(1).optional(),
  /** Where the moderator alert goes; no alert when absent (the notifier may still look it up). */
  alertChannelId: z.string().min(1).optional(),
  /** Backend override from the workspace settings; absent = the deployment's GENGUARD_BACKEND. */
  backend: backendIdSchema.optional(),
  /** Opt-in deep scan: runs on the slow lane, whose backend includes the slow models. */
  deep: z.boolean().default(false),
  /** BCP 47 locale of the requester, for the reply text. */
  locale: z.string().max(35).optional(),
  /** Epoch ms when the adapter saw the request (end-to-end latency metrics). */
  requestedAt: z.number().int().positive().optional(),
});

export type ScanJob = z.infer<typeof scanJobSchema>;
/** What adapters pass in: defaults (`v`, `deep`, `ephemeral`) may be left out. */
export type ScanJobInput = z.input<typeof scanJobSchema>;

/** Parses untrusted job data; a bad job is a non-retryable `bad_request`. */
export function parseScanJob(data: unknown): ScanJob {
  const parsed = scanJobSchema.safeParse(data);
  if (!parsed.success) {
    throw new GenguardError('bad_request', `invalid scan job: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

export function isInteractive(job: Pick<ScanJob, 'requestedBy'>): boolean {
  return job.requestedBy.trigger !== 'auto';
}

/**
 * A stable scan id from the parts that identify one request, so a redelivered gateway event or
 * a retried enqueue does not scan (or answer) twice while the first job is kept. Readable when
 * short, hashed when long.
 *
 * - automatic scan: `scanJobId('discord', guildId, channelId, messageId, attachmentId)`
 * - slash command / context menu: `scanJobId('discord', 'i', interactionId, attachmentId)`
 */
export function scanJobId(...parts: Array<string | number>): string {
  const joined = parts.map((p) => String(p).replace(/[^A-Za-z0-9_.-]/g, '_')).join('-');
  if (joined.length > 0 && joined.length <= 120) return joined;
  return `h-${createHash('sha256').update(parts.map(String).join('\u0000')).digest('hex').slice(0, 40)}`;
}
