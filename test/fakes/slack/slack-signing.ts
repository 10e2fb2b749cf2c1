import { createHmac } from 'node:crypto';

/**
 * Signs and sends requests the way Slack does to an app's Request URL:
 * `v0=` + hex HMAC-SHA256(signing secret, `v0:<timestamp>:<raw body>`), with the timestamp in
 * `x-slack-request-timestamp` (seconds). Slash commands and interactivity are form-encoded
 * with exactly `application/x-www-form-urlencoded` (interactivity as the form field `payload`);
 * Events API callbacks are JSON.
 */

export function slackSignature(secret: string, timestamp: number, rawBody: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

export const FORM = 'application/x-www-form-urlencoded';

export type SlackBody =
  | { kind: 'json'; value: unknown }
  | { kind: 'form'; fields: Record<string, string> }
  /** Interactivity: a JSON payload in the form field `payload`. */
  | { kind: 'payload'; value: unknown };

export function encodeBody(body: SlackBody): { raw: string; contentType: string } {
  switch (body.kind) {
    case 'json':
      return { raw: JSON.stringify(body.value), contentType: 'application/json' };
    case 'form':
      return { raw: new URLSearchParams(body.fields).toString(), contentType: FORM };
    case 'payload':
      return { raw: new URLSearchParams({ payload: JSON.stringify(body.value) }).toString(), contentType: FORM };
  }
}

export interface SendOptions {
  /** Omit to send the request unsigned. */
  secret?: string;
  /** Seconds since the epoch; default now. */
  timestamp?: number;
  /** Replaces the computed signature (a forged or corrupted one). */
  signature?: string;
}

export interface SlackHttpAnswer {
  status: number;
  text: string;
  json: unknown;
}

/** POSTs a (signed) Slack request to the app's HTTP receiver. */
export async function sendToApp(url: string, body: SlackBody, options: SendOptions = {}): Promise<SlackHttpAnswer> {
  const { raw, contentType } = encodeBody(body);
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = { 'content-type': contentType };
  if (options.secret !== undefined || options.signature !== undefined) {
    headers['x-slack-request-timestamp'] = String(timestamp);
    headers['x-slack-signature'] = options.signature ?? slackSignature(options.secret as string, timestamp, raw);
  }
  const response = await fetch(url, { method: 'POST', headers, body: raw });
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}
