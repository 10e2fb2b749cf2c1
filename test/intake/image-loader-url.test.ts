import type { LookupAddress } from 'node:dns';
import { createServer } from 'node:net';
import type { ServerResponse } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { IntakeLimits } from '../../src/config/load-config.js';
import type { LookupFunction } from '../../src/intake/guarded-lookup.js';
import { ImageLoader } from '../../src/intake/image-loader.js';
import { expectCode, limits, solidImage, startServer, type TestServer } from './helpers.js';

/** The real undici Agent, counting what is handed to it: proof that a refusal happened before any request. */
class CountingAgent extends Agent {
  dispatched: string[] = [];
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.dispatched.push(String(options.origin));
    return super.dispatch(options, handler);
  }
}

async function ipv6Loopback(): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
}

const HAS_IPV6 = await ipv6Loopback();
let png: Buffer;
const servers: TestServer[] = [];
const loaders: ImageLoader[] = [];

async function server(handler: (req: import('node:http').IncomingMessage, res: ServerResponse) => void, hostname?: string) {
  const s = await startServer(handler, hostname === undefined ? {} : { hostname });
  servers.push(s);
  return s;
}

function makeLoader(overrides: Partial<IntakeLimits> = {}, extra: { dispatcher?: Dispatcher; dnsLookup?: LookupFunction } = {}) {
  const loader = new ImageLoader({ limits: limits({ allowHosts: ['127.0.0.1'], ...overrides }), ...extra });
  loaders.push(loader);
  return loader;
}

beforeAll(async () => {
  png = await solidImage('png', 12, 8, '#00ff00');
});
afterEach(async () => {
  await Promise.all(loaders.splice(0).map((l) => l.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('fetching a URL', () => {
  it('loads a 200 image and sends no compression request', async () => {
    const s = await server((_req, res) => res.writeHead(200, { 'content-type': 'image/jpeg' }).end(png));
    const image = await makeLoader().load(`${s.url}/a.jpg`);
    expect(image).toMatchObject({ format: 'png', width: 12, height: 8, source: `${s.url}/a.jpg` });
    expect(image.bytes.equals(png)).toBe(true);
    expect(s.requests[0]?.headers['accept-encoding']).toBe('identity');
  });

  it('sends the caller headers', async () => {
    const s = await server((_req, res) => res.end(png));
    await makeLoader().load(`${s.url}/private.png`, { headers: { Authorization: 'Bearer xoxb-1' } });
    expect(s.requests[0]?.headers.authorization).toBe('Bearer xoxb-1');
  });

  it.each([404, 410])('%i → not_found (expired links)', async (status) => {
    const s = await server((_req, res) => res.writeHead(status).end('gone'));
    const error = await expectCode(makeLoader().load(`${s.url}/x.png`), 'not_found');
    expect(error.retryable).toBe(false);
  });

  it('403 → http_error, not retryable; 429 → retryable with Retry-After', async () => {
    const s = await server((req, res) => {
      if (req.url === '/forbidden') res.writeHead(403).end();
      else res.writeHead(429, { 'retry-after': '7' }).end();
    });
    const loader = makeLoader();
    const forbidden = await expectCode(loader.load(`${s.url}/forbidden`), 'http_error');
    expect(forbidden.retryable).toBe(false);
    const limited = await expectCode(loader.load(`${s.url}/limited`), 'http_error');
    expect(limited.retryable).toBe(true);
    expect(limited.retryAfterSeconds).toBe(7);
  });

  it('500 → fetch_failed, retryable', async () => {
    const s = await server((_req, res) => res.writeHead(500).end('oops'));
    const error = await expectCode(makeLoader().load(`${s.url}/x.png`), 'fetch_failed');
    expect(error.retryable).toBe(true);
  });

  it('a refused connection → fetch_failed, retryable', async () => {
    const s = await server((_req, res) => res.end());
    const url = `${s.url}/x.png`;
    await s.close();
    servers.pop();
    const error = await expectCode(makeLoader().load(url), 'fetch_failed');
    expect(error.retryable).toBe(true);
  });

  it('an empty 200 → empty_input', async () => {
    const s = await server((_req, res) => res.end());
    await expectCode(makeLoader().load(`${s.url}/x.png`), 'empty_input');
  });

  it('times out on a server that never answers', async () => {
    const s = await server(() => {
      /* never answers */
    });
    const error = await expectCode(makeLoader({ fetchTimeoutMs: 300 }).load(`${s.url}/slow.png`), 'fetch_timeout');
    expect(error.retryable).toBe(true);
  });

  it("stops at the caller's abort", async () => {
    const s = await server(() => {
      /* never answers */
    });
    const controller = new AbortController();
    const pending = makeLoader().load(`${s.url}/slow.png`, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = await expectCode(pending, 'fetch_failed');
    expect(error.message).toMatch(/aborted/);
  });
});

describe('byte cap on the network', () => {
  it('refuses from Content-Length before reading the body', async () => {
    let serverSawClose!: () => void;
    const closed = new Promise<void>((resolve) => (serverSawClose = resolve));
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-length': String(50_000) });
      res.write(png); // then nothing: only a client that stops early closes this
      res.on('close', () => serverSawClose());
    });
    const error = await expectCode(makeLoader({ maxBytes: 10_000 }).load(`${s.url}/big.png`), 'too_large');
    expect(error.message).toMatch(/declares 50000 bytes/);
    await closed;
  });

  it('cuts an endless body off as soon as it passes the cap, closing the connection', async () => {
    let sent = 0;
    let serverSawClose!: () => void;
    const closed = new Promise<void>((resolve) => (serverSawClose = resolve));
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.write(png); // a real image start, so only the cap can stop it
      const chunk = Buffer.alloc(16 * 1024, 7);
      const pump = () => {
        while (!res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
      };
      res.on('close', () => serverSawClose());
      pump();
    });
    const maxBytes = 256 * 1024;
    const error = await expectCode(makeLoader({ maxBytes }).load(`${s.url}/endless.png`), 'too_large');
    expect(error.details).toMatchObject({ maxBytes });
    // The server never ends this response: only the client hanging up closes it.
    await closed;
    expect(sent).toBeGreaterThan(maxBytes);
  });

  it('stops reading an HTML page early instead of downloading it whole', async () => {
    let serverSawClose!: () => void;
    const closed = new Promise<void>((resolve) => (serverSawClose = resolve));
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.write(`<!DOCTYPE html><html><body>${'x'.repeat(8192)}`);
      res.on('close', () => serverSawClose()); // never ended by the server
    });
    await expectCode(makeLoader().load(`${s.url}/page`), 'unsupported_format');
    await closed;
  });
});

describe('redirects', () => {
  it('follows up to the limit and refuses one more', async () => {
    const s = await server((req, res) => {
      const n = Number(req.url?.slice(1));
      if (n > 0) res.writeHead(302, { location: `/${n - 1}` }).end();
      else res.end(png);
    });
    const loader = makeLoader({ maxRedirects: 3 });
    expect((await loader.load(`${s.url}/3`)).format).toBe('png');
    const error = await expectCode(loader.load(`${s.url}/4`), 'redirect_limit');
    expect(error.retryable).toBe(false);
    expect(s.requests.length).toBe(4 + 4); // the refused chain stops after its 4th redirect answer
  });

  it('keeps Authorization on the same origin and drops it on another host', async () => {
    const other = await server((_req, res) => res.end(png), 'localhost');
    const first = await server((req, res) => {
      if (req.url === '/same') res.writeHead(301, { location: '/final' }).end();
      else if (req.url === '/away') res.writeHead(307, { location: `${other.url}/img.png` }).end();
      else res.end(png);
    });
    const loader = makeLoader({ allowHosts: ['127.0.0.1', 'localhost'] });
    const headers = { Authorization: 'Bearer secret', 'X-Trace': 'kept' };
    await loader.load(`${first.url}/same`, { headers });
    expect(first.requests.map((r) => r.headers.authorization)).toEqual(['Bearer secret', 'Bearer secret']);

    await loader.load(`${first.url}/away`, { headers });
    expect(first.requests[2]?.headers.authorization).toBe('Bearer secret');
    expect(other.requests).toHaveLength(1);
    expect(other.requests[0]?.headers.authorization).toBeUndefined();
    expect(other.requests[0]?.headers['x-trace']).toBe('kept');
  });

  it('re-checks each hop: a redirect to a non-allowed private host is refused without connecting', async () => {
    const internal = await server((_req, res) => res.end(png));
    const front = await server((req, res) => {
      const to = req.url === '/literal' ? `http://127.0.0.1:${internal.port}/secret` : 'http://10.0.0.1/secret';
      res.writeHead(302, { location: to }).end();
    }, 'localhost');
    const loader = makeLoader({ allowHosts: ['localhost'] });
    await expectCode(loader.load(`${front.url}/literal`), 'fetch_refused');
    await expectCode(loader.load(`${front.url}/ten`), 'fetch_refused');
    expect(internal.connections()).toBe(0);
  });

  it('refuses a redirect to another scheme', async () => {
    const s = await server((_req, res) => res.writeHead(302, { location: 'file:///etc/passwd' }).end());
    await expectCode(makeLoader().load(`${s.url}/x`), 'fetch_refused');
  });
});

describe('address policy on the network', () => {
  it('refuses 127.0.0.1 when not allowed, before connecting', async () => {
    const s = await server((_req, res) => res.end(png));
    await expectCode(makeLoader({ allowHosts: [] }).load(`${s.url}/x.png`), 'fetch_refused');
    expect(s.connections()).toBe(0);
  });

  it('refuses a host name that resolves to loopback, at connect time', async () => {
    const s = await server((_req, res) => res.end(png), 'localhost');
    const error = await expectCode(makeLoader({ allowHosts: [] }).load(`${s.url}/x.png`), 'fetch_refused');
    expect(error.message).toMatch(/localhost \(127\.0\.0\.1\)/);
    // The TLS connector resolves through the same lookup.
    await expectCode(makeLoader({ allowHosts: [] }).load(`https://localhost:${s.port}/x.png`), 'fetch_refused');
    expect(s.connections()).toBe(0);
  });

  it.skipIf(!HAS_IPV6)('fetches from an allowed IPv6 literal', async () => {
    const s = await startServer((_req, res) => res.end(png), { listen: '::1' });
    servers.push(s);
    expect(s.url).toMatch(/^http:\/\/\[::1\]:/);
    expect((await makeLoader({ allowHosts: ['::1'] }).load(`${s.url}/v6.png`)).format).toBe('png');
    await expectCode(makeLoader({ allowHosts: ['127.0.0.1'] }).load(`${s.url}/v6.png`), 'fetch_refused');
  });

  it.each(['http://[::1]/x.png', 'http://10.0.0.1/x.png', 'http://169.254.169.254/latest/meta-data', 'http://[::ffff:127.0.0.1]/', 'http://0.0.0.0/'])(
    'refuses %s without handing anything to the HTTP client',
    async (url) => {
      const agent = new CountingAgent();
      const loader = makeLoader({ allowHosts: [] }, { dispatcher: agent });
      await expectCode(loader.load(url), 'fetch_refused');
      expect(agent.dispatched).toEqual([]);
      await agent.close();
    },
  );

  it('checks every address the resolver returns, at connect time', async () => {
    const s = await server((_req, res) => res.end(png));
    const answers: Record<string, LookupAddress[]> = {
      'images.allowed.test': [{ address: '127.0.0.1', family: 4 }],
      'rebind.test': [{ address: '127.0.0.1', family: 4 }],
      'mixed.test': [
        { address: '8.8.8.8', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
    };
    const resolved: string[] = [];
    const dnsLookup: LookupFunction = (hostname, _options, callback) => {
      resolved.push(hostname);
      callback(null, answers[hostname] ?? []);
    };
    const loader = makeLoader({ allowHosts: ['images.allowed.test'] }, { dnsLookup });
    const port = s.port;
    expect((await loader.load(`http://images.allowed.test:${port}/a.png`)).format).toBe('png');
    expect(s.connections()).toBe(1);
    await expectCode(loader.load(`http://rebind.test:${port}/a.png`), 'fetch_refused');
    await expectCode(loader.load(`http://mixed.test:${port}/a.png`), 'fetch_refused');
    expect(s.connections()).toBe(1);
    expect(resolved).toEqual(['images.allowed.test', 'rebind.test', 'mixed.test']);
  });

  it('refuses URLs with credentials and non-http schemes', async () => {
    const loader = makeLoader();
    await expectCode(loader.fromUrl('http://user:pw@127.0.0.1/x.png'), 'fetch_refused');
    await expectCode(loader.fromUrl('gopher://127.0.0.1/'), 'fetch_refused');
    await expectCode(loader.fromUrl('http://'), 'fetch_refused');
  });
});

describe('HTML instead of an image', () => {
  const loginPage = '<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in</body></html>';

  it('with an Authorization header → auth_failed naming files:read', async () => {
    const s = await server((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(loginPage));
    const error = await expectCode(
      makeLoader().load(`${s.url}/files-pri/T1-F1/image.png`, { headers: { Authorization: 'Bearer xoxb-bad' } }),
      'auth_failed',
    );
    expect(error.message).toMatch(/files:read/);
    expect(error.retryable).toBe(false);
  });

  it('with an Authorization header, after a redirect to a login page on another host → auth_failed', async () => {
    const login = await server((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(loginPage), 'localhost');
    const files = await server((_req, res) => res.writeHead(302, { location: `${login.url}/?redir=%2Ffiles` }).end());
    const loader = makeLoader({ allowHosts: ['127.0.0.1', 'localhost'] });
    const error = await expectCode(
      loader.load(`${files.url}/files-pri/T1-F1/image.png`, { headers: { Authorization: 'Bearer xoxb-bad' } }),
      'auth_failed',
    );
    expect(error.message).toMatch(/files:read/);
    expect(login.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('without one → unsupported_format', async () => {
    const s = await server((_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(loginPage));
    const error = await expectCode(makeLoader().load(`${s.url}/image.png`), 'unsupported_format');
    expect(error.message).toMatch(/HTML/);
  });

  it('an SVG served as image/png is refused', async () => {
    const s = await server((_req, res) =>
      res.writeHead(200, { 'content-type': 'image/png' }).end('<svg xmlns="http://www.w3.org/2000/svg"/>'),
    );
    const error = await expectCode(makeLoader().load(`${s.url}/image.png`), 'unsupported_format');
    expect(error.message).toMatch(/SVG/);
  });
});
