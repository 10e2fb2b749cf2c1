import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import type { QueueConfig } from '../../../src/config/load-config.js';
import type { BackendDetectOptions, BackendId, DetectionBackend } from '../../../src/detector/backend.js';
import { classify, type DetectionResult } from '../../../src/detector/result.js';
import { GenguardError } from '../../../src/errors/genguard-error.js';
import type { ImageFormat, ImageInput } from '../../../src/intake/image-input.js';
import type { Notifier, NotifyContext, NotifyJob, ResultNotifyJob } from '../../../src/queue/notifier.js';
import type { Lane } from '../../../src/queue/queue-layout.js';
import type { ScanJobInput } from '../../../src/queue/scan-job.js';
import type { BackendLease, BackendProvider, ImageSourceLoader } from '../../../src/queue/worker-deps.js';

export function fakeResult(score: number, model = 'fake', latencyMs = 1): DetectionResult {
  return {
    ...classify(score),
    ensemble_score: score,
    models_succeeded: 1,
    models_total: 1,
    model_results: { [model]: { score, latency_ms: latencyMs } },
    detection_latency_ms: latencyMs,
  };
}

type Step = (image: ImageInput, options: BackendDetectOptions) => Promise<DetectionResult> | DetectionResult;

/**
 * A backend whose calls follow a script (the last step repeats): return a score, sleep, throw.
 * `calls` counts every call, `images` remembers what it saw.
 */
export class ScriptedBackend implements DetectionBackend {
  calls = 0;
  readonly images: ImageInput[] = [];
  readonly #steps: Step[];

  constructor(
    steps: Step[] | number,
    readonly id: BackendId = 'local',
  ) {
    this.#steps = typeof steps === 'number' ? [() => fakeResult(steps)] : steps;
  }

  async detect(image: ImageInput, options: BackendDetectOptions = {}): Promise<DetectionResult> {
    const step = this.#steps[Math.min(this.calls, this.#steps.length - 1)]!;
    this.calls++;
    this.images.push(image);
    return step(image, options);
  }

  async close(): Promise<void> {}
}

export const steps = {
  score: (score: number): Step => () => fakeResult(score),
  sleep: (ms: number, score = 0.5): Step => async (_image, options) => {
    await sleep(ms, undefined, options.signal ? { signal: options.signal } : undefined);
    return fakeResult(score);
  },
  fail: (code: ConstructorParameters<typeof GenguardError>[0], retryable?: boolean): Step => () => {
    throw new GenguardError(code, `scripted ${code}`, retryable === undefined ? {} : { retryable });
  },
};

/** One backend for every lane and override, with a fixed model-set version. */
export function providerOf(backend: DetectionBackend, modelSetVersion = 'test-models-1'): BackendProvider & { requests: Array<[Lane, BackendId | undefined]> } {
  const requests: Array<[Lane, BackendId | undefined]> = [];
  return {
    requests,
    async get(lane: Lane, id?: BackendId): Promise<BackendLease> {
      requests.push([lane, id]);
      return { backend, modelSetVersion };
    },
    async close() {},
  };
}

const FORMATS: Record<string, ImageFormat> = { jpeg: 'jpeg', png: 'png', webp: 'webp', gif: 'gif', avif: 'avif', heif: 'avif', tiff: 'tiff' };

export async function imageInputFrom(bytes: Buffer, source: string): Promise<ImageInput> {
  const meta = await sharp(bytes).metadata().catch(() => undefined);
  const format = meta?.format ? FORMATS[meta.format] : undefined;
  if (!meta || !format) throw new GenguardError('unsupported_format', `${source}: not a supported image`);
  const swap = (meta.orientation ?? 1) >= 5;
  return {
    bytes,
    format,
    width: (swap ? meta.height : meta.width) ?? 0,
    height: (swap ? meta.width : meta.height) ?? 0,
    orientation: meta.orientation ?? 1,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    source,
  };
}

/** A stand-in for intake's ImageLoader: fetches http URLs (headers, signal) or takes bytes. */
export class FetchLoader implements ImageSourceLoader {
  loads = 0;

  async load(source: string | Uint8Array, options: { headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<ImageInput> {
    this.loads++;
    if (typeof source !== 'string') return imageInputFrom(Buffer.from(source), 'bytes');
    const init: RequestInit = {};
    if (options.headers) init.headers = options.headers;
    if (options.signal) init.signal = options.signal;
    const response = await fetch(source, init).catch((error: unknown) => {
      throw new GenguardError('fetch_failed', `${source}: ${String(error)}`);
    });
    if (response.status === 404) throw new GenguardError('not_found', `${source}: 404`);
    if (!response.ok) throw new GenguardError('http_error', `${source}: ${response.status}`);
    return imageInputFrom(Buffer.from(await response.arrayBuffer()), source);
  }
}

/** Serves images from memory on 127.0.0.1 and remembers the request headers. */
export class ImageServer {
  readonly files = new Map<string, Buffer>();
  readonly requests: Array<{ path: string; headers: IncomingHttpHeaders }> = [];
  #server: Server | undefined;
  #base = '';

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      const path = req.url ?? '/';
      this.requests.push({ path, headers: req.headers });
      const body = this.files.get(path);
      if (!body) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.#base = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Adds a file and returns its URL. */
  add(path: string, bytes: Buffer): string {
    this.files.set(path, bytes);
    return `${this.#base}${path}`;
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

export interface Posted {
  step: 'reply' | 'alert';
  job: NotifyJob;
  context: NotifyContext;
}

/** Records what would be posted; `failures` makes the next N calls of a step throw. */
export class RecordingNotifier implements Notifier {
  readonly posted: Posted[] = [];
  readonly failures = { reply: [] as GenguardError[], alert: [] as GenguardError[] };
  calls = { reply: 0, alert: 0 };

  constructor(readonly platform: 'discord' | 'slack' = 'discord') {}

  async reply(job: NotifyJob, context: NotifyContext): Promise<void> {
    this.calls.reply++;
    const failure = this.failures.reply.shift();
    if (failure) throw failure;
    this.posted.push({ step: 'reply', job, context });
  }

  async alert(job: ResultNotifyJob, context: NotifyContext): Promise<void> {
    this.calls.alert++;
    const failure = this.failures.alert.shift();
    if (failure) throw failure;
    this.posted.push({ step: 'alert', job, context });
  }

  replies(scanId?: string): Posted[] {
    return this.posted.filter((p) => p.step === 'reply' && (scanId === undefined || p.job.scan.id === scanId));
  }

  alerts(scanId?: string): Posted[] {
    return this.posted.filter((p) => p.step === 'alert' && (scanId === undefined || p.job.scan.id === scanId));
  }
}

/** Short locks and intervals so stalled-job recovery takes seconds, not minutes. */
export function testQueueConfig(redisUrl: string, prefix: string, overrides: Partial<QueueConfig> = {}): QueueConfig {
  return {
    redisUrl,
    prefix,
    concurrency: { detect: 2, notify: 4, slow: 1 },
    timeouts: { detectMs: 10_000, slowMs: 10_000, modelMs: {} },
    attempts: { detect: 3, notify: 4, backoffMs: 100 },
    retention: { keepCompletedSeconds: 600, keepFailedSeconds: 600 },
    lockMs: 2_000,
    stalledIntervalMs: 1_000,
    addTimeoutMs: 1_000,
    remoteRateLimit: null,
    cache: { enabled: true, ttlSeconds: 600, phashDistance: 4 },
    metrics: { port: 0, host: '127.0.0.1' },
    ...overrides,
  };
}

export function scanInput(id: string, url: string, overrides: Partial<ScanJobInput> = {}): ScanJobInput {
  return {
    id,
    platform: 'discord',
    workspaceId: 'guild-1',
    channelId: 'chan-1',
    messageId: `msg-${id}`,
    attachmentId: `att-${id}`,
    media: { url, fileName: `${id}.png` },
    requestedBy: { trigger: 'auto' },
    reply: { kind: 'message_reply', channelId: 'chan-1', messageId: `msg-${id}` },
    ...overrides,
  };
}

export async function waitFor<T>(probe: () => T | Promise<T>, timeoutMs = 15_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

let counter = 0;
export function uniquePrefix(name: string): string {
  counter++;
  return `ggtest-${name}-${process.pid}-${counter}-${Date.now().toString(36)}`;
}

/** A deterministic picture with enough structure for the perceptual hash (gradients and blobs). */
export async function syntheticImage(seed: number, width = 320, height = 240): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  const cx = [(seed * 37) % width, (seed * 91) % width, (seed * 13) % width];
  const cy = [(seed * 53) % height, (seed * 29) % height, (seed * 71) % height];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const d = Math.hypot(x - cx[c]!, y - cy[c]!);
        data[i + c] = Math.round(127 + 120 * Math.sin(d / (12 + seed * 3 + c * 5)) * Math.cos((x * (c + 1)) / (40 + seed)));
      }
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}
