/**
 * A local stand-in for Bijou's `POST /api/detect` (../shared/specs/bijou-detect.md): X-Api-Key auth,
 * the {statusCode, body} envelope, 10 MB and JPG/PNG/WebP limits (magic bytes sniffed), credits
 * (402 when spent), 100 requests/minute per key (429 with `retry_after`), and fault injection.
 * Model scores are hashes of the image bytes (fakeScore) — a fake of the contract, not a detector.
 */
import type http from 'node:http';
import {
  applyFault,
  FaultInjector,
  fakeScore,
  readBody,
  sendJson,
  sha256,
  sniffImage,
  startServer,
  type StartedServer,
} from '../bitmind/fake-http.js';

export const BIJOU_MODELS = ['aeroblade', 'univfd', 'npr', 'fire', 'cnnspot'] as const;
/** Per-model latencies the vendor publishes as an example; the fake reports them as is. */
const EXAMPLE_LATENCY: Record<(typeof BIJOU_MODELS)[number], number> = {
  aeroblade: 145,
  univfd: 132,
  npr: 98,
  fire: 156,
  cnnspot: 112,
};

export interface FakeBijouOptions {
  apiKeys?: string[];
  /** Credits of every key at start (default: unlimited). */
  credits?: number;
  ratePerMinute?: number;
  /** Largest decoded image; the fake reads "10 MB" as 10 MiB, the generous reading (the client aims lower). */
  maxImageBytes?: number;
  /** The fake's clock, shared with a client under test to move rate-limit windows without waiting. */
  now?: () => number;
}

export interface BijouRequestRecord {
  consent: boolean | undefined;
  format: string | undefined;
  imageBytes: number;
  status: number;
}

export class FakeBijouServer {
  readonly faults = new FaultInjector();
  readonly counts = { detect: 0 };
  readonly requests: BijouRequestRecord[] = [];
  /** Ensemble scores to return for given sha256 digests (every model then reports that score). */
  readonly scores = new Map<string, number>();
  private readonly keys = new Map<string, { credits: number; stamps: number[] }>();
  private server!: StartedServer;
  readonly ratePerMinute: number;
  readonly maxImageBytes: number;
  private readonly now: () => number;

  private constructor(options: FakeBijouOptions) {
    for (const k of options.apiKeys ?? []) this.keys.set(k, { credits: options.credits ?? Infinity, stamps: [] });
    this.ratePerMinute = options.ratePerMinute ?? 100;
    this.maxImageBytes = options.maxImageBytes ?? 10 * 1024 * 1024;
    this.now = options.now ?? Date.now;
  }

  static async start(options: FakeBijouOptions = {}, port = 0): Promise<FakeBijouServer> {
    const fake = new FakeBijouServer(options);
    fake.server = await startServer((req, res) => fake.handle(req, res), port);
    return fake;
  }

  get url(): string {
    return this.server.url;
  }

  setCredits(apiKey: string, credits: number): void {
    const k = this.keys.get(apiKey);
    if (k) k.credits = credits;
  }

  credits(apiKey: string): number | undefined {
    return this.keys.get(apiKey)?.credits;
  }

  revokeKey(apiKey: string): void {
    this.keys.delete(apiKey);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method !== 'POST' || path !== '/api/detect') {
      await readBody(req, 0);
      return reply(res, 404, { error: `resource not found: ${req.method ?? ''} ${path}` });
    }
    this.counts.detect += 1;
    // base64 is 4/3 of the bytes; beyond that (plus slack for the JSON around it) nothing valid can come.
    const { body, tooLarge } = await readBody(req, Math.ceil((this.maxImageBytes * 4) / 3) + 64 * 1024);
    const record: BijouRequestRecord = { consent: undefined, format: undefined, imageBytes: 0, status: 0 };
    this.requests.push(record);
    const send = (status: number, payload: Record<string, unknown>, headers?: Record<string, string>) => {
      record.status = status;
      reply(res, status, payload, headers);
    };

    const fault = this.faults.take();
    if (fault !== undefined) {
      record.status = fault.kind === 'status' ? fault.status : fault.kind === 'inner' ? fault.status : 200;
      if (fault.kind === 'status' && fault.body === undefined) {
        return applyFault(res, { ...fault, body: { statusCode: fault.status, body: { error: `injected ${fault.status}` } } });
      }
      return applyFault(res, fault);
    }

    const apiKey = req.headers['x-api-key'];
    const key = typeof apiKey === 'string' ? this.keys.get(apiKey) : undefined;
    if (key === undefined) return send(401, { error: 'Invalid or missing API key' });

    const now = this.now();
    key.stamps = key.stamps.filter((t) => t > now - 60_000);
    if (key.stamps.length >= this.ratePerMinute) {
      const retryAfter = Math.max(1, Math.ceil(((key.stamps[0] ?? now) + 60_000 - now) / 1000));
      return send(429, { error: 'Rate limit exceeded', retry_after: retryAfter });
    }
    key.stamps.push(now);

    if (tooLarge) return send(400, { error: 'Image exceeds the 10 MB limit', field: 'image' });
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return send(400, { error: 'Invalid JSON body' });
    }
    const input = (typeof json === 'object' && json !== null ? json : {}) as { image?: unknown; consent?: unknown };
    if (typeof input.image !== 'string' || input.image.length === 0) {
      return send(400, { error: 'image is required', field: 'image' });
    }
    if (input.consent !== undefined && typeof input.consent !== 'boolean') {
      return send(400, { error: 'consent must be a boolean', field: 'consent' });
    }
    record.consent = input.consent as boolean | undefined;
    if (input.image.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(input.image)) {
      return send(400, { error: 'Invalid base64 image', field: 'image' });
    }
    const image = Buffer.from(input.image, 'base64');
    record.imageBytes = image.length;
    if (image.length > this.maxImageBytes) return send(400, { error: 'Image exceeds the 10 MB limit', field: 'image' });
    const format = sniffImage(image);
    record.format = format;
    if (format !== 'jpeg' && format !== 'png' && format !== 'webp') {
      return send(400, { error: 'Unsupported image format: use JPG, PNG or WebP', field: 'image' });
    }
    if (key.credits <= 0) return send(402, { error: 'Insufficient credits', code: 'INSUFFICIENT_CREDITS' });
    key.credits -= 1;
    send(200, { data: this.detect(image, input.consent === true) });
  }

  private detect(image: Buffer, consent: boolean): Record<string, unknown> {
    const digest = sha256(image);
    const fixed = this.scores.get(digest);
    const modelResults: Record<string, { score: number; latency_ms: number }> = {};
    for (const m of BIJOU_MODELS) modelResults[m] = { score: fixed ?? fakeScore(image, `bijou:${m}`), latency_ms: EXAMPLE_LATENCY[m] };
    const scores = Object.values(modelResults).map((r) => r.score);
    const ensemble = scores.reduce((a, b) => a + b, 0) / scores.length;
    const [prediction, verdict] =
      ensemble >= 0.7 ? ['ai', 'ai_generated'] : ensemble >= 0.4 ? ['uncertain', 'uncertain'] : ['real', 'likely_real'];
    return {
      prediction,
      confidence: prediction === 'real' ? 1 - ensemble : ensemble,
      ensemble_score: ensemble,
      verdict,
      models_succeeded: BIJOU_MODELS.length,
      models_total: BIJOU_MODELS.length,
      model_results: modelResults,
      detection_latency_ms: 523,
      stored: consent,
      s3_key: consent ? `uploads/${digest}` : null,
      research_image_key: consent ? `research/images/${digest}` : null,
      research_result_key: consent ? `research/results/${digest}.json` : null,
    };
  }
}

function reply(res: http.ServerResponse, status: number, body: Record<string, unknown>, headers?: Record<string, string>): void {
  sendJson(res, status, { statusCode: status, body }, headers);
}
