import type { ImageFormat } from '../../intake/image-input.js';

export type MarkerKind =
  | 'c2pa'
  | 'digital_source_type'
  | 'generator_metadata'
  | 'generator_software'
  | 'ai_declaration'
  | 'aigc_label'
  | 'stealth_metadata'
  | 'invisible_watermark';

export type MarkerStrength = 'strong' | 'moderate' | 'weak';

/** One finding about where the image came from. */
export interface ProvenanceMarker {
  kind: MarkerKind;
  /** What the finding points to: AI generation, a real-world capture, or neither. */
  indicates: 'ai' | 'capture' | 'neutral';
  /** Where it was found: `C2PA`, `XMP`, `PNG tEXt "parameters"`, `EXIF Software`, … */
  source: string;
  /** Human-readable evidence line. */
  detail: string;
  strength: MarkerStrength;
  /**
   * P(AI) this finding alone supports, when it may be used as a score at all: always set for
   * `ai`; for `capture` only when a validated C2PA manifest backs it; never for `neutral`.
   */
  score?: number;
}

export type C2paValidity = 'valid' | 'invalid' | 'unverified';

export interface C2paSummary {
  present: boolean;
  /** Whether c2pa-ts could read the manifest store at all. */
  readable: boolean;
  /** `valid`: claim signature and hash bindings check out (no trust list is consulted). */
  validity: C2paValidity | undefined;
  valid: boolean;
  /** Failing C2PA status codes, e.g. `claimSignature.mismatch`, `assertion.dataHash.mismatch`. */
  failures: string[];
  /** Hard binding (data hash) of the active manifest against these bytes. */
  hashBinding: 'match' | 'mismatch' | 'unchecked';
  /** Signing certificate subject, `O=…, CN=…`. */
  signer?: string | undefined;
  /** Issuer of the signing certificate, `O=…, CN=…`. */
  issuer?: string | undefined;
  /** Signed with the public C2PA test certificate (validates, but identifies nobody). */
  testCertificate: boolean;
  claimGenerator?: string | undefined;
  /** Actions over all manifests in the store, e.g. `c2pa.created`, de-duplicated, sorted. */
  actions: string[];
  /** The most telling digitalSourceType code in the store (AI codes first, then capture codes). */
  digitalSourceType?: string | undefined;
  softwareAgents: string[];
  manifestCount: number;
}

export interface ProvenanceReport {
  format: ImageFormat;
  markers: ProvenanceMarker[];
  c2pa: C2paSummary;
  /** Keys of PNG text chunks (tEXt, zTXt, iTXt), in file order. */
  textKeys: string[];
  /** Which metadata sources were present: `EXIF`, `XMP`, `IPTC`, `PNG text`, `C2PA`, … */
  sources: string[];
  /** Parse problems, skipped sources and other remarks; never evidence of anything. */
  notes: string[];
}

export function emptyC2paSummary(): C2paSummary {
  return {
    present: false,
    readable: false,
    validity: undefined,
    valid: false,
    failures: [],
    hashBinding: 'unchecked',
    testCertificate: false,
    actions: [],
    softwareAgents: [],
    manifestCount: 0,
  };
}
