import type { webApi } from '@slack/bolt';

/**
 * Slack's chat.postMessage has no idempotency key (Discord has `nonce` + `enforce_nonce`), so a
 * notify step retried after a worker died between posting and recording it would post twice.
 * Every reply and alert therefore carries the step's idempotency key in its message metadata,
 * and a retry first looks for a message that already carries it.
 */

/** Slack allows letters, digits, `_` and `-` in an event type; anything else drops the metadata. */
export const POST_EVENT_TYPE = 'genguard_post';

export interface PostMetadata {
  event_type: typeof POST_EVENT_TYPE;
  event_payload: { key: string };
}

export function postMetadata(key: string): PostMetadata {
  return { event_type: POST_EVENT_TYPE, event_payload: { key } };
}

export interface PostedPlace {
  channel: string;
  /** A reply in a thread is found with conversations.replies, not in the channel's history. */
  threadTs?: string;
  /** Slack `ts` before which the message cannot have been posted: keeps the search short. */
  oldest?: string;
}

/** The search stays bounded: a step is retried within minutes, not after hundreds of messages. */
const PAGE_SIZE = 100;
const MAX_PAGES = 3;

interface ListedMessage {
  ts?: string;
  bot_id?: string;
  metadata?: { event_type?: string; event_payload?: unknown };
}

/**
 * The `ts` of a message in `place` that an app posted with `postMetadata(key)`, or undefined when
 * none is among the newest few pages since `oldest`. Slack's errors (missing_scope,
 * not_in_channel, ratelimited, …) are thrown as they come: the caller decides what a failed look
 * means.
 */
export async function findPostedMessage(client: webApi.WebClient, place: PostedPlace, key: string): Promise<string | undefined> {
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    // Without include_all_metadata Slack strips `event_payload`, where the key is.
    const query = {
      channel: place.channel,
      include_all_metadata: true,
      limit: PAGE_SIZE,
      ...(place.oldest === undefined ? {} : { oldest: place.oldest }),
      ...(cursor === undefined ? {} : { cursor }),
    };
    const answer =
      place.threadTs === undefined
        ? await client.conversations.history(query)
        : await client.conversations.replies({ ...query, ts: place.threadTs });
    const found = (answer.messages as ListedMessage[] | undefined)?.find((m) => carriesKey(m, key));
    if (found?.ts !== undefined) return found.ts;
    cursor = answer.response_metadata?.next_cursor || undefined;
    if (cursor === undefined) return undefined;
  }
  return undefined;
}

function carriesKey(message: ListedMessage, key: string): boolean {
  // Only app messages count (they carry a bot_id); the key, a hash of the deployment, scan and
  // step, is known to nobody else before genguard posts it.
  if (message.bot_id === undefined || message.metadata?.event_type !== POST_EVENT_TYPE) return false;
  const payload = message.metadata.event_payload;
  return typeof payload === 'object' && payload !== null && (payload as { key?: unknown }).key === key;
}
