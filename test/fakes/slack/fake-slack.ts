import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent } from 'undici';
import { FakeSocketMode } from './fake-socket-mode.js';
import { bearer, FakeWebApi, parseParams, type OAuthGrant } from './fake-web-api.js';
import { FakeWorkspaces, nextTs, type FakeFile, type FakeMessage } from './fake-workspace.js';

const TLS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'tls');
export const FAKE_SLACK_CA = readFileSync(path.join(TLS_DIR, 'cert.pem'));

/** The page Slack serves (with 200) for a file URL fetched without a token allowed to read it. */
export const LOGIN_PAGE = '<!DOCTYPE html><html><head><title>Slack</title></head><body><form action="/signin">Sign in to Slack</form></body></html>';

export interface FileRequest {
  host: string;
  path: string;
  authorization: string | undefined;
}

export interface ResponseUrlPost {
  id: string;
  body: Record<string, unknown>;
}

/**
 * A Slack for tests on 127.0.0.1: the Web API (`/api/<method>`), a private file host that wants
 * the bot token (Slack's login page with 200 otherwise), a second file host on 127.0.0.2 for
 * cross-host redirects, `response_url` endpoints over HTTPS (self-signed, see tls/), and Socket
 * Mode on `/socket`.
 */
export class FakeSlack {
  readonly workspaces = new FakeWorkspaces();
  readonly oauthGrants = new Map<string, OAuthGrant>();
  oauthClient: { id: string; secret: string } | undefined;
  readonly api: FakeWebApi;
  readonly socket: FakeSocketMode;
  readonly fileRequests: FileRequest[] = [];
  readonly responsePosts: ResponseUrlPost[] = [];
  #server: Server | undefined;
  #other: Server | undefined;
  #https: HttpsServer | undefined;
  #base = '';
  #otherBase = '';
  #httpsBase = '';

  constructor() {
    this.socket = new FakeSocketMode(() => this.#base);
    this.api = new FakeWebApi(this.workspaces, {
      socketUrl: () => this.socket.openUrl(),
      oauthGrants: this.oauthGrants,
      oauthClient: () => this.oauthClient,
    });
  }

  get apiUrl(): string {
    return `${this.#base}/api/`;
  }

  get baseUrl(): string {
    return this.#base;
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => void this.#route(req, res));
    this.#server.on('upgrade', (req, socket, head) => this.socket.upgrade(req, socket, head));
    this.#base = await listen(this.#server, '127.0.0.1');
    this.#other = createServer((req, res) => this.#serveOther(req, res));
    this.#otherBase = await listen(this.#other, '127.0.0.2');
    const tls = { cert: FAKE_SLACK_CA, key: readFileSync(path.join(TLS_DIR, 'key.pem')) };
    this.#https = createHttpsServer(tls, (req, res) => void this.#respondUrl(req, res));
    this.#httpsBase = (await listen(this.#https, '127.0.0.1')).replace(/^http:/, 'https:');
  }

  async stop(): Promise<void> {
    await this.socket.close();
    await Promise.all([this.#server, this.#other, this.#https].map((s) => (s ? closeServer(s) : undefined)));
  }

  /** An undici Agent trusting the fake's certificate (for `response_url` posts). */
  static trustingAgent(): Agent {
    return new Agent({ connect: { ca: FAKE_SLACK_CA } });
  }

  /** Registers an image and returns the Slack file object an event carries. */
  addFile(teamId: string, file: { name: string; bytes: Buffer; mimetype?: string; redirectElsewhere?: boolean }): Record<string, unknown> {
    const id = this.workspaces.id('F');
    const mimetype = file.mimetype ?? 'image/png';
    const stored: FakeFile = { id, teamId, name: file.name, mimetype, filetype: mimetype.split('/')[1] ?? 'png', bytes: file.bytes };
    if (file.redirectElsewhere === true) stored.redirectElsewhere = true;
    this.workspaces.team(teamId).files.set(id, stored);
    const download = `${this.#base}/files-pri/${teamId}-${id}/download/${encodeURIComponent(file.name)}`;
    return {
      id,
      name: file.name,
      title: file.name,
      mimetype,
      filetype: stored.filetype,
      size: file.bytes.length,
      mode: 'hosted',
      is_external: false,
      url_private: download.replace('/download/', '/'),
      url_private_download: download,
    };
  }

  /** A public URL of a registered file on the second host (no token needed), with its name in the query. */
  publicUrl(file: Record<string, unknown>): string {
    const download = String(file['url_private_download']);
    const m = /\/files-pri\/([A-Z0-9]+)-([A-Z0-9]+)\//.exec(download);
    return `${this.#otherBase}/cdn/${m?.[1]}-${m?.[2]}?name=${encodeURIComponent(String(file['name']))}`;
  }

  /** A user's message (stored in the channel's history); returns it as the `message` event Slack would send. */
  postUserMessage(teamId: string, channelId: string, userId: string, options: { text?: string; files?: Array<Record<string, unknown>> } = {}): FakeMessage & { channel: string; channel_type: string } {
    const message: FakeMessage = { type: 'message', ts: nextTs(), user: userId, text: options.text ?? '' };
    if (options.files) {
      message.files = options.files;
      message.subtype = 'file_share';
    }
    this.workspaces.channel(teamId, channelId).messages.push(message);
    return { ...message, channel: channelId, channel_type: 'channel' };
  }

  /** A fresh `response_url` (https) on the fake. */
  responseUrl(): string {
    return `${this.#httpsBase}/respond/${randomUUID()}`;
  }

  postsTo(responseUrl: string): Array<Record<string, unknown>> {
    const id = responseUrl.split('/').pop();
    return this.responsePosts.filter((p) => p.id === id).map((p) => p.body);
  }

  /** A one-time OAuth `code` that oauth.v2.access exchanges for `botToken` of `teamId`. */
  grantOAuthCode(grant: OAuthGrant): string {
    const code = `code-${randomUUID()}`;
    this.oauthGrants.set(code, grant);
    return code;
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/api/')) {
      const raw = await readBody(req);
      const answer = this.api.handle(url.pathname.slice('/api/'.length), req, parseParams(raw.toString(), req.headers['content-type']));
      res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', ...answer.headers });
      res.end(JSON.stringify(answer.body));
      return;
    }
    const file = /^\/files-pri\/([A-Z0-9]+)-([A-Z0-9]+)\/download\//.exec(url.pathname);
    if (file && req.method === 'GET') {
      this.fileRequests.push({ host: req.headers.host ?? '', path: url.pathname, authorization: req.headers.authorization });
      const stored = this.workspaces.teams.get(file[1] as string)?.files.get(file[2] as string);
      const token = bearer(req);
      const principal = token === undefined ? undefined : this.workspaces.tokens.get(token);
      const allowed = stored !== undefined && principal?.teamId === stored.teamId && principal.scopes.includes('files:read');
      if (!allowed) {
        // What Slack really does: the sign-in page, with 200.
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(LOGIN_PAGE);
        return;
      }
      if (stored.redirectElsewhere === true) {
        res.writeHead(302, { location: `${this.#otherBase}/cdn/${stored.teamId}-${stored.id}` }).end();
        return;
      }
      res.writeHead(200, { 'content-type': stored.mimetype, 'content-length': stored.bytes.length }).end(stored.bytes);
      return;
    }
    res.writeHead(404).end('not found');
  }

  #serveOther(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.fileRequests.push({ host: req.headers.host ?? '', path: url.pathname, authorization: req.headers.authorization });
    const m = /^\/cdn\/([A-Z0-9]+)-([A-Z0-9]+)$/.exec(url.pathname);
    const stored = m ? this.workspaces.teams.get(m[1] as string)?.files.get(m[2] as string) : undefined;
    if (!stored) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': stored.mimetype }).end(stored.bytes);
  }

  /** Slack accepts 5 posts per response_url; later ones get 404 `used_url`. */
  async #respondUrl(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const id = /^\/respond\/([\w-]+)$/.exec(url.pathname)?.[1];
    const raw = (await readBody(req)).toString();
    if (req.method !== 'POST' || id === undefined) {
      res.writeHead(404).end();
      return;
    }
    if (this.responsePosts.filter((p) => p.id === id).length >= 5) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error: 'used_url' }));
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error: 'invalid_payload' }));
      return;
    }
    this.responsePosts.push({ id, body });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function listen(server: Server | HttpsServer, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve(`http://${host}:${(server.address() as AddressInfo).port}`));
  });
}

function closeServer(server: Server | HttpsServer): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
