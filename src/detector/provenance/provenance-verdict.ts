import type { DetectorOutcome } from '../detector.js';
import { describeValidity } from './c2pa-validation.js';
import type { ProvenanceMarker, ProvenanceReport } from './provenance-report.js';

/** Abstain codes: nothing found at all, or something found that says neither AI nor capture. */
export const NO_PROVENANCE = 'no_provenance';
export const PROVENANCE_INCONCLUSIVE = 'provenance_inconclusive';

const MAX_EVIDENCE = 8;

/**
 * Turns a report into the member's answer:
 * - any AI marker → ok, score = the strongest marker's score (0.75–0.99), every AI marker as
 *   evidence. AI wins over a capture claim: a generated layer inside a signed photo is still AI.
 * - else a capture marker that a VALID C2PA manifest backs → ok with a low score (0.1–0.2).
 *   Deliberately modest: C2PA proves who signed the bytes, not that the scene was real, the
 *   signer is not checked against a trust list here, and a capture device can photograph a
 *   screen showing a generated image. The evidence line says as much.
 * - else abstain: `no_provenance` when the file carries no provenance metadata at all,
 *   `provenance_inconclusive` (with what was found) for C2PA without AI or capture claims,
 *   invalid or test-certificate manifests that claim capture, unsigned capture claims, etc.
 */
export function decideOutcome(report: ProvenanceReport): DetectorOutcome {
  const ai = scored(report.markers, 'ai').sort((a, b) => b.score - a.score);
  const top = ai[0];
  if (top) return { status: 'ok', score: top.score, evidence: ai.slice(0, MAX_EVIDENCE).map((m) => m.detail) };

  const capture = scored(report.markers, 'capture').sort((a, b) => a.score - b.score);
  const lowest = capture[0];
  if (lowest) {
    return {
      status: 'ok',
      score: lowest.score,
      evidence: [`${lowest.detail} (C2PA shows who signed the file, not that the scene is real)`],
    };
  }

  const found = inconclusiveFindings(report);
  if (found.length === 0) {
    return { status: 'abstain', code: NO_PROVENANCE, reason: 'no provenance metadata (C2PA, IPTC source type, generator metadata, AIGC label) found' };
  }
  return { status: 'abstain', code: PROVENANCE_INCONCLUSIVE, reason: found.join('; ') };
}

function scored(markers: ProvenanceMarker[], indicates: 'ai' | 'capture'): (ProvenanceMarker & { score: number })[] {
  return markers.filter((m): m is ProvenanceMarker & { score: number } => m.indicates === indicates && typeof m.score === 'number');
}

function inconclusiveFindings(report: ProvenanceReport): string[] {
  const out: string[] = [];
  const c2pa = report.c2pa;
  if (c2pa.present) {
    const parts = [describeValidity(c2pa)];
    if (c2pa.signer) parts.push(`signer ${c2pa.signer}`);
    if (c2pa.claimGenerator) parts.push(`claim generator ${c2pa.claimGenerator}`);
    if (c2pa.actions.length > 0) parts.push(`actions ${c2pa.actions.map((a) => a.replace(/^c2pa\./, '')).join(', ')}`);
    const claims = report.markers.filter((m) => m.kind === 'c2pa' && m.indicates === 'capture');
    const verdict = claims.length > 0 ? 'its capture claim is not trusted without a valid signature from a real signer' : 'it claims neither AI generation nor a camera capture';
    out.push(`C2PA manifest (${parts.join('; ')}): ${verdict}`);
  }
  for (const m of report.markers) {
    if (m.kind === 'c2pa') continue;
    out.push(m.detail);
  }
  return out.slice(0, MAX_EVIDENCE);
}
