/**
 * Plumbing shared by the BitMind and Bijou fakes: body reading with a limit, JSON replies, magic-byte
 * sniffing, deterministic fake scores, fault injection and a server that closes hanging requests.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type SniffedFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'bmp' | 'tiff' | 'avif' | 'heic';

export function sniffImage(buf: Buffer): SniffedFormat | undefined {
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  if (buf.length >= 8 && buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (buf.length >= 12 && buf.toString('latin1', 0, 4) === 'RIFF' && buf.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  if (buf.length >= 6 && /^GIF8[79]a$/.test(buf.toString('latin1', 0, 6))) return 'gif';
  if (buf.length >= 2 && buf.toString('latin1', 0, 2) === 'BM') return 'bmp';
  if (buf.length >= 4 && ['II*\0', 'MM\0*'].includes(buf.toString('latin1', 0, 4))) return 'tiff';
  if (buf.length >= 12 && buf.toString('latin1', 4, 8) === 'ftyp') {
    const brand = buf.toString('latin1', 8, 12);
    return brand.startsWith('avi') ? 'avif' : 'heic';
  }
  return undefined;
}

/**
 * The fakes' "detection": a number in [0, 1) taken from sha256(salt + bytes). Deterministic and
 * meaningless — these are fakes of the vendors' HTTP contracts, not detectors.
 */
export function fakeScore(bytes: Buffer, salt: string): number {
  const digest = createHash('sha256').update(salt).update(bytes).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads the whole body; past `limit` it keeps draining (so the client sees our answer) but drops the bytes. */
export async function readBody(req: http.IncomingMessage, limit: number): Promise<{ body: Buffer; tooLarge: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = Number(req.headers['content-length'] ?? 0) > limit;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) tooLarge = true;
    if (!tooLarge) chunks.push(buf);
  }
  return { body: tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks, size), tooLarge };
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** What the next detection responses do instead of detecting. */
export type Fault =
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** 200 with a body that is not JSON. */
  | { kind: 'malformed' }
  /** Never answers (until the server closes). */
  | { kind: 'hang' }
  /** Bijou only: HTTP 200 with an error `statusCode` inside the envelope. */
  | { kind: 'inner'; status: number; error?: string };

export class FaultInjector {
  private readonly queue: Fault[] = [];

  /** The next `count` detection requests get `fault`. */
  inject(fault: Fault, count = 1): void {
    for (let i = 0; i < count; i++) this.queue.push(fault);
  }

  take(): Fault | undefined {
    return this.queue.shift();
  }

  clear(): void {
    this.queue.length = 0;
  }

  get pending(): number {
    return this.queue.length;
  }
}

export interface StartedServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>,
  port = 0,
  host = '127.0.0.1',
): Promise<StartedServer> {
  const server = http.createServer((req, res) => {
    handler(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: `fake crashed: ${(error as Error).message}` });
      else res.destroy();
    });
  });
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Answers a detection request with an injected fault instead of a detection. */
export function applyFault(res: http.ServerResponse, fault: Fault): void {
  switch (fault.kind) {
    case 'status':
      return sendJson(res, fault.status, fault.body ?? { error: `injected ${fault.status}` }, fault.headers);
    case 'malformed':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"statusCode": 200, "body": {"da');
      return;
    case 'hang':
      return;
    case 'inner':
      return sendJson(res, 200, { statusCode: fault.status, body: { error: fault.error ?? 'injected' } });
  }
}
