import { performance } from 'node:perf_hooks';
import type { DetectionBackend, BackendDetectOptions } from './backend.js';
import type { Detector, DetectContext } from './detector.js';
import type { ImageInput } from '../intake/image-input.js';
import type { Bands, DetectionResult } from './result.js';
import type { RawImage } from './raw-image.js';
import { combineOutcomes, type MemberReport } from './combine-outcomes.js';
import { GenguardError, toGenguardError } from '../errors/genguard-error.js';

export interface EnsembleMember {
  detector: Detector;
  /** Per-member deadline; a member past it counts as failed with `timeout`. */
  timeoutMs?: number | undefined;
}

export interface LocalEnsembleOptions {
  members: EnsembleMember[];
  bands: Bands;
  /** Decodes an image once for all pixel detectors. */
  decode: (image: ImageInput) => Promise<RawImage>;
  /** Identifies the model set (cache keys change with it). */
  version: string;
  onClose?: () => Promise<void>;
}

/** The local ensemble as a backend: runs every member on one decode and combines their scores. */
export class LocalEnsemble implements DetectionBackend {
  readonly id = 'local' as const;
  readonly version: string;
  readonly #options: LocalEnsembleOptions;

  constructor(options: LocalEnsembleOptions) {
    this.#options = options;
    this.version = options.version;
  }

  get memberIds(): string[] {
    return this.#options.members.map((m) => m.detector.id);
  }

  async detect(image: ImageInput, options: BackendDetectOptions = {}): Promise<DetectionResult> {
    const t0 = performance.now();
    let decoded: Promise<RawImage> | undefined;
    const context: DetectContext = {
      ...(options.signal ? { signal: options.signal } : {}),
      pixels: () => (decoded ??= this.#options.decode(image)),
    };
    const reports: MemberReport[] = [];
    // Sequential on purpose: onnxruntime already spreads one model over every core, and running
    // members side by side only makes them fight for the same cores.
    for (const member of this.#options.members) {
      options.signal?.throwIfAborted();
      reports.push(await this.#runMember(member, image, context));
    }
    // An image that cannot be decoded is the user's problem, not "no model succeeded": when no
    // member answered, decode (if nobody did yet) so a corrupt file is reported as such.
    if (reports.every((r) => r.status !== 'ok')) await context.pixels!();
    return combineOutcomes(reports, this.#options.bands, performance.now() - t0);
  }

  async close(): Promise<void> {
    await this.#options.onClose?.();
  }

  async #runMember(member: EnsembleMember, image: ImageInput, context: DetectContext): Promise<MemberReport> {
    const { detector } = member;
    const base = { id: detector.id, weight: detector.weight };
    const t0 = performance.now();
    try {
      const outcome = await withTimeout(detector.detect(image, context), member.timeoutMs, detector.id);
      const latencyMs = performance.now() - t0;
      if (outcome.status === 'abstain') {
        return { ...base, latencyMs, status: 'abstained', code: outcome.code, reason: outcome.reason };
      }
      return { ...base, latencyMs, status: 'ok', score: outcome.score, ...(outcome.evidence ? { evidence: outcome.evidence } : {}) };
    } catch (error) {
      const e = toGenguardError(error, 'inference_failed');
      return { ...base, latencyMs: performance.now() - t0, status: 'failed', code: e.code, reason: e.message };
    }
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number | undefined, id: string): Promise<T> {
  if (ms === undefined) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new GenguardError('timeout', `${id} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
