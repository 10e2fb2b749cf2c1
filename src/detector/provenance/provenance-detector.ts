import { GenguardError, toGenguardError } from '../../errors/genguard-error.js';
import type { ImageInput } from '../../intake/image-input.js';
import type { DetectContext, Detector, DetectorOutcome } from '../detector.js';
import { inspectProvenance } from './inspect-provenance.js';
import { decideOutcome } from './provenance-verdict.js';

export { inspectProvenance, type InspectOptions } from './inspect-provenance.js';
export { NO_PROVENANCE, PROVENANCE_INCONCLUSIVE } from './provenance-verdict.js';
export type { C2paSummary, ProvenanceMarker, ProvenanceReport } from './provenance-report.js';

export interface ProvenanceDetectorOptions {
  id?: string;
  weight?: number;
}

/**
 * The metadata member of the ensemble: needs no weights. High score when the file itself says it
 * was generated (C2PA, IPTC source type, generator metadata, AIGC label, or the open invisible
 * watermark of the Stable Diffusion / FLUX reference code at full size), low score only for a
 * validated C2PA camera capture, abstains otherwise. Reads hostile bytes with every walk bounded
 * (see limits.ts); a broken source is skipped, and the only thing it ever throws is GenguardError.
 */
export class ProvenanceDetector implements Detector {
  readonly id: string;
  readonly weight: number;

  constructor(options: ProvenanceDetectorOptions = {}) {
    this.id = options.id ?? 'provenance';
    this.weight = options.weight ?? 1;
    if (!Number.isFinite(this.weight) || this.weight < 0) {
      throw new GenguardError('config_invalid', `provenance detector "${this.id}": weight must be a finite number ≥ 0, got ${options.weight}`);
    }
  }

  async detect(image: ImageInput, context: DetectContext = {}): Promise<DetectorOutcome> {
    const signal = context.signal;
    try {
      if (signal?.aborted) throw new GenguardError('timeout', `${this.id}: aborted before reading metadata`);
      const report = await inspectProvenance(image.bytes, image.format, signal ? { signal } : {});
      if (signal?.aborted) throw new GenguardError('timeout', `${this.id}: aborted while reading metadata`);
      return decideOutcome(report);
    } catch (error) {
      throw toGenguardError(error, 'internal');
    }
  }
}
