import type { LookupAddress } from 'node:dns';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { IntakeLimits } from '../../src/config/load-config.js';
import type { LookupFunction } from '../../src/intake/guarded-lookup.js';
import { GenguardError } from '../../src/errors/genguard-error.js';
import { ImageLoader } from '../../src/intake/image-loader.js';
import { expectCode, limits, solidImage, startServer, type TestServer } from '../intake/helpers.js';

/**
 * Hostile servers and resolvers, beyond what test/intake already covers (redirect chains, the
 * byte cap, literal and resolved private addresses): DNS answers that change between one
 * connection and the next, slow-loris servers, and bodies whose Content-Length lies.
 */

let png: Buffer;
const cleanups: Array<() => Promise<void> | void> = [];
const loaders: ImageLoader[] = [];

beforeAll(async () => {
  png = await solidImage('png', 32, 24, '#3366ff');
});
afterEach(async () => {
  await Promise.all(loaders.splice(0).map((l) => l.close()));
  for (const c of cleanups.splice(0).reverse()) await c();
});

function loader(overrides: Partial<IntakeLimits> = {}, dnsLookup?: LookupFunction): ImageLoader {
  const l = new ImageLoader({ limits: limits(overrides), ...(dnsLookup ? { dnsLookup } : {}) });
  loaders.push(l);
  return l;
}

async function http(handler: Parameters<typeof startServer>[0], listen = '127.0.0.1', hostname?: string): Promise<TestServer> {
  const s = await startServer(handler, { listen, ...(hostname ? { hostname } : {}) });
  cleanups.push(() => s.close());
  return s;
}

interface RawServer {
  port: number;
  /** Resolves when a client connection closes (the client hung up or we ended it). */
  closed: Promise<void>;
  connections: () => number;
}

/** A TCP server that writes whatever `onRequest` decides once a request head arrived: for responses node's http would refuse to send. */
async function raw(onRequest: (socket: Socket) => void): Promise<RawServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      markClosed();
    });
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      if (head.includes('\r\n\r\n')) return;
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n')) onRequest(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, closed, connections: () => connections };
}

/** Writes `piece` every `ms` until the socket closes: a server that never finishes. */
function dribble(socket: Socket, piece: Buffer | string, ms: number): { sent: () => number } {
  let sent = 0;
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer);
    socket.write(piece);
    sent += piece.length;
  }, ms);
  socket.on('close', () => clearInterval(timer));
  return { sent: () => sent };
}

describe('DNS answers that change (rebinding)', () => {
  it('checks the address each connection dials: allowed on the first connect, refused when the next answer is private', async () => {
    const allowed = await http((_req, res) => res.writeHead(200, { connection: 'close' }).end(png));
    const internal = await http((_req, res) => res.end(png), '127.0.0.2');
    const answers = ['127.0.0.1', '127.0.0.2'];
    const asked: string[] = [];
    const dnsLookup: LookupFunction = (hostname, _options, callback) => {
      asked.push(hostname);
      const address = answers[Math.min(asked.length - 1, answers.length - 1)]!;
      callback(null, [{ address, family: 4 } satisfies LookupAddress]);
    };
    // Only the first answer's address is allowed; the name itself is not.
    const l = loader({ allowHosts: ['127.0.0.1'] }, dnsLookup);
    expect((await l.load(`http://flip.test:${allowed.port}/a.png`)).format).toBe('png');
    // Same name, same port on the other address: the second connection resolves again and is refused.
    expect(internal.port).not.toBe(0);
    await expectCode(l.load(`http://flip.test:${internal.port}/a.png`), 'fetch_refused');
    expect(asked).toEqual(['flip.test', 'flip.test']);
    expect(internal.connections()).toBe(0);
  });

  it('re-resolves after a redirect to the same name and refuses when the answer turned private', async () => {
    const front = await http((req, res) => {
      if (req.url === '/start') res.writeHead(302, { location: '/image.png', connection: 'close' }).end();
      else res.end(png);
    });
    let lookups = 0;
    const dnsLookup: LookupFunction = (_hostname, _options, callback) => {
      lookups++;
      callback(null, [{ address: lookups === 1 ? '127.0.0.1' : '10.1.2.3', family: 4 }]);
    };
    const error = await expectCode(loader({ allowHosts: ['127.0.0.1'] }, dnsLookup).load(`http://rebind.test:${front.port}/start`), 'fetch_refused');
    expect(error.message).toMatch(/10\.1\.2\.3/);
    expect(lookups).toBe(2);
    expect(front.requests.map((r) => r.url)).toEqual(['/start']);
  });

  it('refuses an answer that mixes public and private addresses, whatever their order', async () => {
    const s = await http((_req, res) => res.end(png));
    const orders: LookupAddress[][] = [
      [{ address: '93.184.216.34', family: 4 }, { address: '127.0.0.1', family: 4 }],
      [{ address: '::1', family: 6 }, { address: '93.184.216.34', family: 4 }],
      [{ address: '93.184.216.34', family: 4 }, { address: '::ffff:169.254.169.254', family: 6 }],
    ];
    for (const answer of orders) {
      const l = loader({ allowHosts: [] }, (_h, _o, callback) => callback(null, answer));
      await expectCode(l.load(`http://mixed.test:${s.port}/x.png`), 'fetch_refused');
    }
    expect(s.connections()).toBe(0);
  });
});

describe('redirects to private addresses in other spellings', () => {
  it.each([
    'http://2130706433/x.png', // decimal 127.0.0.1
    'http://0x7f.0.0.1/x.png',
    'http://0177.0.0.1/x.png',
    'http://127.1/x.png',
    'http://[::ffff:7f00:1]/x.png',
    'http://[::]/x.png',
    'http://[fd00::1]/x.png',
    'http://[fe80::1%25eth0]/x.png',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1/x.png',
    'http://192.168.0.1/x.png',
    'http://0/x.png',
  ])('a redirect to %s is refused before connecting', async (target) => {
    // The front server is allowed by name only; every target is loopback or private in disguise.
    const front = await http((_req, res) => res.writeHead(302, { location: target }).end(), '127.0.0.1', 'localhost');
    await expectCode(loader({ allowHosts: ['localhost'] }).load(`${front.url}/go`), 'fetch_refused');
    // Only the front server was contacted, once.
    expect(front.requests).toHaveLength(1);
  });
});

describe('slow-loris servers', () => {
  it('a server that sends its headers one byte at a time is cut off at the fetch timeout', async () => {
    let sent: (() => number) | undefined;
    const s = await raw((socket) => {
      sent = dribble(socket, 'X', 50).sent;
      socket.write('HTTP/1.1 200 OK\r\nX-Slow: ');
    });
    const error = await expectCode(loader({ allowHosts: ['127.0.0.1'], fetchTimeoutMs: 600 }).load(`http://127.0.0.1:${s.port}/slow.png`), 'fetch_timeout');
    expect(error.retryable).toBe(true);
    await s.closed; // the client hung up: the server never stops on its own
    expect(sent?.()).toBeGreaterThan(0);
  });

  it('a body that trickles in under the per-chunk timeout is still cut off by the whole-exchange timeout', async () => {
    let sent: (() => number) | undefined;
    const s = await raw((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: ${png.length + 1_000_000}\r\n\r\n`);
      socket.write(png.subarray(0, 64));
      // Each byte arrives well within undici's body timeout, so only the overall deadline can stop this.
      sent = dribble(socket, Buffer.from([0]), 40).sent;
    });
    await expectCode(loader({ allowHosts: ['127.0.0.1'], fetchTimeoutMs: 800 }).load(`http://127.0.0.1:${s.port}/trickle.png`), 'fetch_timeout');
    await s.closed;
    expect(sent?.()).toBeGreaterThan(0);
  });

  it('a body that never ends without Content-Length (chunked) stops at the byte cap', async () => {
    const s = await raw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n');
      socket.write(`${png.length.toString(16)}\r\n`);
      socket.write(png);
      socket.write('\r\n');
      const chunk = Buffer.alloc(32 * 1024, 1);
      const pump = () => {
        while (!socket.destroyed && socket.write(`${chunk.length.toString(16)}\r\n`) && socket.write(chunk) && socket.write('\r\n'));
        if (!socket.destroyed) socket.once('drain', pump);
      };
      pump();
    });
    await expectCode(loader({ allowHosts: ['127.0.0.1'], maxBytes: 200_000 }).load(`http://127.0.0.1:${s.port}/endless.png`), 'too_large');
    await s.closed;
  });
});

describe('bodies whose Content-Length lies', () => {
  it('more bytes than declared: only the declared bytes are taken', async () => {
    const s = await raw((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${png.length}\r\nConnection: close\r\n\r\n`);
      socket.write(png);
      socket.end(Buffer.alloc(500_000, 0x41)); // trailing garbage after the declared body
    });
    const image = await loader({ allowHosts: ['127.0.0.1'] }).load(`http://127.0.0.1:${s.port}/more.png`);
    expect(image.bytes.length).toBe(png.length);
    expect(image.bytes.equals(png)).toBe(true);
  });

  it('fewer bytes than declared, then the server hangs up: fetch_failed, no truncated image', async () => {
    const s = await raw((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${png.length * 10}\r\n\r\n`);
      socket.end(png);
    });
    const error = await expectCode(loader({ allowHosts: ['127.0.0.1'] }).load(`http://127.0.0.1:${s.port}/short.png`), 'fetch_failed');
    expect(error.retryable).toBe(true);
  });

  it('fewer bytes than declared, then silence: fetch_timeout', async () => {
    const s = await raw((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${png.length * 10}\r\n\r\n`);
      socket.write(png);
    });
    await expectCode(loader({ allowHosts: ['127.0.0.1'], fetchTimeoutMs: 600 }).load(`http://127.0.0.1:${s.port}/stall.png`), 'fetch_timeout');
    await s.closed;
  });

  it.each([
    ['negative', 'Content-Length: -5\r\n'],
    ['not a number', 'Content-Length: 12abc\r\n'],
    ['two different values', 'Content-Length: 10\r\nContent-Length: 20\r\n'],
    ['with Transfer-Encoding (smuggling)', 'Content-Length: 10\r\nTransfer-Encoding: chunked\r\n'],
    ['a chunk size of 2^48', 'Transfer-Encoding: chunked\r\n', 'ffffffffffff\r\n'],
  ])('%s: refused as a failed fetch, never parsed as an image', async (_label, headers, body = '') => {
    const s = await raw((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\n${headers}\r\n${body}`);
      socket.write(png);
      socket.end();
    });
    const l = loader({ allowHosts: ['127.0.0.1'], maxBytes: 100_000 });
    const error = await l.load(`http://127.0.0.1:${s.port}/lie.png`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GenguardError);
    // undici refuses the framing itself (invalid header, length mismatch, socket closed mid-chunk).
    expect(error).toMatchObject({ code: 'fetch_failed' });
  });
});
