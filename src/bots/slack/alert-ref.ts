import { z } from 'zod';

/**
 * What an alert's buttons carry (the button `value`, ≤ 2000 characters): the flagged message.
 * Slack signs the interaction and only delivers clicks on our own messages to us, but the value
 * is still parsed strictly: a malformed one is refused, not half-used.
 */
export const alertRefSchema = z.object({
  /** Channel of the flagged message. */
  c: z.string().regex(/^[A-Z0-9]{2,30}$/),
  /** Its `ts`. */
  m: z.string().regex(/^\d{1,12}\.\d{1,9}$/),
  /** File id. */
  f: z.string().max(40).optional(),
  /** Scan id. */
  s: z.string().max(200),
  /** sha256 and pHash of the image, so Dismiss can silence reposts of it. */
  h: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  p: z.string().regex(/^[0-9a-f]{16}$/).optional(),
});
export type AlertRef = z.infer<typeof alertRefSchema>;

export function encodeAlertRef(ref: AlertRef): string {
  return JSON.stringify(ref);
}

export function decodeAlertRef(value: string | undefined): AlertRef | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = alertRefSchema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
