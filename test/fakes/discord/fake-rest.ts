import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A tiny router for the fake REST API. Paths are matched segment by segment after
 * URL-decoding (discord.js sends `@original` as `%40original`, emoji reactions encoded).
 * Unknown routes answer 404, never 401: @discordjs/rest drops its token for good on a 401.
 */

export interface RestRequest {
  method: string;
  /** Decoded path below /api/v10, e.g. `/webhooks/1/tok/messages/@original`. */
  path: string;
  rawPath: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: any;
  params: Record<string, string>;
}

export interface RestReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type RestHandler = (req: RestRequest) => RestReply | Promise<RestReply>;

interface Route {
  method: string;
  segments: string[];
  handler: RestHandler;
}

export class RestRouter {
  readonly #routes: Route[] = [];

  on(method: string, pattern: string, handler: RestHandler): this {
    this.#routes.push({ method, segments: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  match(method: string, path: string): { handler: RestHandler; params: Record<string, string> } | undefined {
    const parts = path.split('/').filter(Boolean);
    for (const route of this.#routes) {
      if (route.method !== method || route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length; i++) {
        const seg = route.segments[i]!;
        if (seg.startsWith(':')) params[seg.slice(1)] = parts[i]!;
        else if (seg !== parts[i]) {
          ok = false;
          break;
        }
      }
      if (ok) return { handler: route.handler, params };
    }
    return undefined;
  }
}

export async function readBody(req: IncomingMessage): Promise<{ raw: Buffer; json: any }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const type = req.headers['content-type'] ?? '';
  if (raw.length === 0) return { raw, json: undefined };
  if (type.includes('application/json')) return { raw, json: JSON.parse(raw.toString('utf8')) };
  if (type.includes('multipart/form-data')) return { raw, json: parseMultipartJson(raw, type) };
  return { raw, json: undefined };
}

/** discord.js sends `payload_json` in multipart bodies when files are attached. */
function parseMultipartJson(raw: Buffer, type: string): unknown {
  const boundary = /boundary=([^;]+)/.exec(type)?.[1];
  if (!boundary) return undefined;
  for (const part of raw.toString('latin1').split(`--${boundary}`)) {
    if (!part.includes('name="payload_json"')) continue;
    const body = part.slice(part.indexOf('\r\n\r\n') + 4).replace(/\r\n$/, '');
    return JSON.parse(Buffer.from(body, 'latin1').toString('utf8'));
  }
  return undefined;
}

export function sendJson(res: ServerResponse, reply: RestReply): void {
  const headers: Record<string, string> = { ...reply.headers };
  if (reply.body === undefined) {
    res.writeHead(reply.status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(reply.body);
  headers['content-type'] = 'application/json';
  res.writeHead(reply.status, headers);
  res.end(text);
}

export const notFound = (code = 0, message = '404: Not Found'): RestReply => ({ status: 404, body: { message, code } });
