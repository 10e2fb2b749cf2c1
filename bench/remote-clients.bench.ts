/**
 * Client overhead of the remote backends against the local fakes: each detect() is paired with a
 * bare undici request carrying the same prepared body and headers to the same fake, and the
 * per-pair difference is what the client adds (auth headers, breaker, retry wrapper, limiter,
 * base64 + body assembly, response validation, result mapping). Target: ≤ 2 ms p50 for small images.
 * `npm run bench -- --only remote-clients [--runs N]`
 */
import { performance } from 'node:perf_hooks';
import { createHash, randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { Agent, request } from 'undici';
import { BitmindBackend } from '../src/detector/remote/bitmind-backend.js';
import { BijouBackend, requestBody } from '../src/detector/remote/bijou-backend.js';
import { InProcessRateLimiter } from '../src/detector/remote/rate-limiter.js';
import type { ImageInput } from '../src/intake/image-input.js';
import { FakeBijouServer } from '../test/fakes/bijou/fake-bijou-server.js';
import { FakeBitmindServer } from '../test/fakes/bitmind/fake-bitmind-server.js';
import { measure, printTimings, summarise, type Timing } from './lib/measure.js';

async function image(width: number, height: number, format: 'png' | 'jpeg'): Promise<ImageInput> {
  const raw = sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } });
  const bytes = await (format === 'png' ? raw.png({ compressionLevel: 0 }) : raw.jpeg({ quality: 90 })).toBuffer();
  return { bytes, format, width, height, orientation: 1, sha256: createHash('sha256').update(bytes).digest('hex'), source: 'bench' };
}

/** Paired runs: client call, then the bare request; returns both series and the differences. */
async function paired(
  name: string,
  client: () => Promise<unknown>,
  bare: () => Promise<unknown>,
  runs: number,
): Promise<Timing[]> {
  for (let i = 0; i < 5; i++) {
    await client();
    await bare();
  }
  const c: number[] = [];
  const b: number[] = [];
  const d: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await client();
    const t1 = performance.now();
    await bare();
    const t2 = performance.now();
    c.push(t1 - t0);
    b.push(t2 - t1);
    d.push(t1 - t0 - (t2 - t1));
  }
  return [summarise(`${name}: client detect()`, c), summarise(`${name}: bare request`, b), summarise(`${name}: client overhead`, d)];
}

async function bareRequest(agent: Agent, url: string, headers: Record<string, string>, body: Buffer): Promise<void> {
  const res = await request(url, { method: 'POST', headers, body, dispatcher: agent });
  await res.body.json();
  if (res.statusCode !== 200) throw new Error(`bare request got ${res.statusCode}`);
}

export async function run(args: string[]): Promise<void> {
  const runsIdx = args.indexOf('--runs');
  const runs = runsIdx >= 0 ? Number(args[runsIdx + 1]) : 200;
  const bigRuns = Math.max(10, Math.round(runs / 10));
  const bitmindFake = await FakeBitmindServer.start({ clients: [{ clientId: 'bench', clientSecret: 'bench-secret-1' }] });
  const bijouFake = await FakeBijouServer.start({ apiKeys: ['bijou_bench'], ratePerMinute: 1e9 });
  const agent = new Agent({ keepAliveTimeout: 10_000 });
  const bitmind = new BitmindBackend({
    credentials: { method: 'oauth', clientId: 'bench', clientSecret: 'bench-secret-1' },
    baseUrl: bitmindFake.url,
  });
  // The real budget is 100/minute; the bench lifts it to measure the client, not the wait.
  const bijou = new BijouBackend({ baseUrl: bijouFake.url, apiKey: 'bijou_bench', rateLimiter: new InProcessRateLimiter(1e9, 60_000) });
  try {
    const small = await image(256, 256, 'png');
    const medium = await image(1024, 1024, 'jpeg');
    const big = await image(1800, 1800, 'png'); // ≈ 9.7 MB: under Bijou's limit, sent as is
    if (big.bytes.length > 10_000_000) throw new Error(`bench image too big: ${big.bytes.length}`);
    console.log(`images: small ${small.bytes.length} B, medium ${medium.bytes.length} B, big ${big.bytes.length} B`);

    await bitmind.detect(small); // fetch and cache the token
    const auth = (await bitmind.auth.headers()).headers;
    const bitmindHeaders = { ...auth, 'content-type': 'application/octet-stream', accept: 'application/json' };
    const bijouHeaders = { 'x-api-key': 'bijou_bench', 'content-type': 'application/json', accept: 'application/json' };
    const timings: Timing[] = [];
    timings.push(
      ...(await paired('bitmind small', () => bitmind.detect(small), () => bareRequest(agent, `${bitmindFake.url}/image`, bitmindHeaders, small.bytes), runs)),
      ...(await paired('bitmind 1 MB', () => bitmind.detect(medium), () => bareRequest(agent, `${bitmindFake.url}/image`, bitmindHeaders, medium.bytes), runs)),
    );
    const smallBody = requestBody(small.bytes, false);
    const bigBody = requestBody(big.bytes, false);
    timings.push(
      ...(await paired('bijou small', () => bijou.detect(small), () => bareRequest(agent, `${bijouFake.url}/api/detect`, bijouHeaders, smallBody), runs)),
      ...(await paired('bijou 9.7 MB', () => bijou.detect(big), () => bareRequest(agent, `${bijouFake.url}/api/detect`, bijouHeaders, bigBody), bigRuns)),
    );
    timings.push(await measure('base64 + JSON body of the 9.7 MB image', () => requestBody(big.bytes, false), { runs: bigRuns * 2 }));
    printTimings('remote clients vs local fakes (overhead = client − bare, paired)', timings);
  } finally {
    await bitmind.close();
    await bijou.close();
    await agent.close();
    await bitmindFake.close();
    await bijouFake.close();
  }
}
