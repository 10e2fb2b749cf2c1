import { BMFF, type Asset } from '@trustnxt/c2pa-ts/asset';
import { SuperBox } from '@trustnxt/c2pa-ts/jumbf';
import { ActionAssertion, IngredientAssertion, ManifestStore, MetadataAssertion, type Manifest } from '@trustnxt/c2pa-ts/manifest';
import { describeValidity, RawAsset, validateStore } from './c2pa-validation.js';
import { matchGeneratorName } from './generator-names.js';
import { classifySourceType } from './iptc-source-types.js';
import { checkJumbfStructure } from './jumbf-guard.js';
import { emptyC2paSummary, type C2paSummary, type ProvenanceMarker } from './provenance-report.js';

export interface C2paReading {
  summary: C2paSummary;
  markers: ProvenanceMarker[];
  notes: string[];
}

interface ActionFact {
  action: string;
  sourceType: string | undefined;
  agent: string | undefined;
  active: boolean;
  /** A digitalSourceType from a metadata assertion rather than an action. */
  metadata: boolean;
}

/** Claim generators / signers of camera apps and cameras that sign at capture time. */
const CAMERA_SIGNER = /\b(?:leica|nikon|sony|canon|fujifilm|panasonic|lumix|pixel camera|samsung camera|vision camera|truepic lens sdk)\b/i;

/**
 * Reads and validates a C2PA manifest store with c2pa-ts and turns it into markers:
 *
 * - AI: any manifest in the store (the active one or an ingredient's) with an action whose
 *   digitalSourceType is an AI code, or whose claim generator / software agent is a known image
 *   generator. An invalid or unverified manifest still counts (forging an AI label gains nobody
 *   anything) at a slightly lower score, and the evidence says so.
 * - Capture: a `c2pa.created` action with a capture code, or, without any created action, a
 *   first-generation manifest (no ingredients) that signs camera EXIF (Make/Model) or comes
 *   from a camera signer. Only a VALID manifest gives such a marker a score, and a modest one
 *   (see provenance-verdict.ts): C2PA shows who signed what, not that the scene was real, and
 *   without a trust list we do not know that the signer is who the certificate says.
 */
export async function readC2pa(bytes: Uint8Array, jumbf: Uint8Array, mimeType: string): Promise<C2paReading> {
  const summary: C2paSummary = { ...emptyC2paSummary(), present: true };
  const notes: string[] = [];
  const problem = checkJumbfStructure(jumbf);
  if (problem) {
    summary.validity = 'invalid';
    summary.failures = ['manifest.inaccessible'];
    notes.push(`C2PA: manifest store refused: ${problem}`);
    return { summary, markers: scanUnreadable(jumbf, problem), notes };
  }
  let store: ManifestStore;
  try {
    store = ManifestStore.read(SuperBox.fromBuffer(new Uint8Array(jumbf)));
  } catch (error) {
    summary.validity = 'invalid';
    summary.failures = ['claim.cbor.invalid'];
    const why = error instanceof Error ? error.message : String(error);
    notes.push(`C2PA: manifest store unreadable: ${why}`);
    return { summary, markers: scanUnreadable(jumbf, why), notes };
  }
  summary.readable = true;
  summary.manifestCount = store.manifests.length;
  const asset: Asset = mimeType === 'image/avif' && BMFF.canRead(bytes) ? new BMFF(bytes) : new RawAsset(bytes, jumbf, mimeType);
  Object.assign(summary, await validateStore(store, asset));

  const active = store.getActiveManifest();
  describeSigner(active, summary);
  summary.claimGenerator = claimGenerator(active);
  const facts = store.manifests.flatMap((m) => actionFacts(m, m === active));
  summary.actions = [...new Set(facts.filter((f) => !f.metadata).map((f) => f.action))].sort();
  summary.softwareAgents = [...new Set(facts.map((f) => f.agent).filter((a): a is string => !!a))];
  const codes = facts.map((f) => f.sourceType).filter((s): s is string => !!s).map(classifySourceType);
  summary.digitalSourceType = (codes.find((c) => c.verdict === 'ai') ?? codes.find((c) => c.verdict === 'capture') ?? codes[0])?.code;

  const validity = describeValidity(summary);
  const signer = summary.signer ? `; signer ${summary.signer}` : '';
  const markers: ProvenanceMarker[] = [];
  for (const f of facts) {
    if (!f.sourceType) continue;
    const info = classifySourceType(f.sourceType);
    const where = f.active ? '' : ' (in an ingredient manifest)';
    const head = `C2PA: ${f.action.replace(/^c2pa\./, '')}${f.agent ? ` by ${f.agent}` : ''}, digitalSourceType ${info.code}${where}`;
    if (info.verdict === 'ai') {
      const cap = summary.validity === 'valid' ? 1 : summary.validity === 'unverified' ? 0.97 : 0.95;
      markers.push({ kind: 'c2pa', indicates: 'ai', source: 'C2PA', detail: `${head} — ${validity}${signer}`, strength: info.strength, score: Math.min(info.score, cap) });
    } else if (info.verdict === 'capture' && f.action === 'c2pa.created') {
      markers.push(captureMarker(`${head} — ${validity}${signer}`, summary, f.active ? 0.1 : 0.2));
    }
  }
  const names = [...store.manifests.map((m) => claimGenerator(m)), ...summary.softwareAgents].filter((n): n is string => !!n);
  const generator = names.map((n) => matchGeneratorName(n)).find(Boolean);
  if (generator && !markers.some((k) => k.indicates === 'ai')) {
    const score = summary.validity === 'valid' ? 0.9 : 0.88;
    markers.push({ kind: 'c2pa', indicates: 'ai', source: 'C2PA', detail: `C2PA: made with ${generator} (claim generator / software agent) — ${validity}${signer}`, strength: 'moderate', score });
  }
  const inferred = inferCapture(active, facts, summary);
  if (inferred && !markers.some((k) => k.indicates !== 'neutral')) markers.push(captureMarker(`${inferred} — ${validity}${signer}`, summary, 0.15));
  return { summary, markers, notes };
}

/**
 * A store c2pa-ts cannot read (a corrupt certificate, a broken box) may still spell out an AI
 * source type: CBOR keeps text strings verbatim. That is weaker evidence than a readable claim,
 * but a damaged "this is AI" label is still one; capture codes found this way count for nothing.
 */
function scanUnreadable(jumbf: Uint8Array, why: string): ProvenanceMarker[] {
  const text = Buffer.from(jumbf.buffer, jumbf.byteOffset, jumbf.byteLength).toString('latin1');
  const found = new Set<string>();
  for (const m of text.matchAll(/digitalsourcetype\/([A-Za-z]{1,64})|c2pa\.trainedAlgorithmicData/g)) {
    if (found.size >= 16) break;
    found.add(m[1] ?? 'trainedAlgorithmicData');
  }
  const ai = [...found].map(classifySourceType).filter((i) => i.verdict === 'ai').sort((a, b) => b.score - a.score)[0];
  if (!ai) return [];
  return [
    {
      kind: 'c2pa',
      indicates: 'ai',
      source: 'C2PA',
      detail: `C2PA manifest unreadable (${why.slice(0, 120)}), but its bytes name digitalSourceType ${ai.code} — unverified`,
      strength: 'moderate',
      score: Math.min(ai.score, 0.9),
    },
  ];
}

function captureMarker(detail: string, summary: C2paSummary, score: number): ProvenanceMarker {
  const marker: ProvenanceMarker = { kind: 'c2pa', indicates: 'capture', source: 'C2PA', detail, strength: 'moderate' };
  // The test certificate validates but identifies nobody: anyone can sign a "capture" with it.
  if (summary.validity === 'valid' && !summary.testCertificate) marker.score = score;
  return marker;
}

function inferCapture(active: Manifest | undefined, facts: ActionFact[], summary: C2paSummary): string | undefined {
  if (!active || facts.some((f) => f.action === 'c2pa.created' || f.sourceType)) return undefined;
  const assertions = active.assertions?.assertions ?? [];
  if (assertions.some((a) => a instanceof IngredientAssertion)) return undefined;
  const exif = new Map<string, string>();
  for (const a of assertions) {
    if (!(a instanceof MetadataAssertion)) continue;
    for (const e of a.entries) if ((e.name === 'Make' || e.name === 'Model') && typeof e.value === 'string') exif.set(e.name, e.value);
  }
  const camera = [exif.get('Make'), exif.get('Model')].filter(Boolean).join(' ');
  const cameraSigner = [summary.claimGenerator, summary.signer].some((s) => !!s && CAMERA_SIGNER.test(s));
  if (!camera && !cameraSigner) return undefined;
  return `C2PA: camera capture (${[camera ? `signed EXIF Make/Model ${camera}` : undefined, summary.claimGenerator ? `claim generator ${summary.claimGenerator}` : undefined].filter(Boolean).join('; ')})`;
}

function actionFacts(manifest: Manifest, active: boolean): ActionFact[] {
  const out: ActionFact[] = [];
  for (const a of manifest.assertions?.assertions ?? []) {
    if (a instanceof ActionAssertion) {
      for (const act of a.actions ?? []) {
        if (typeof act.action !== 'string') continue;
        const agent = typeof act.softwareAgent === 'string' ? act.softwareAgent : act.softwareAgent?.name;
        out.push({ action: act.action, sourceType: str(act.digitalSourceType), agent: str(agent), active, metadata: false });
      }
    } else if (a instanceof MetadataAssertion) {
      for (const e of a.entries ?? []) {
        if (e.name === 'DigitalSourceType' && typeof e.value === 'string') out.push({ action: `${a.label} metadata`, sourceType: e.value, agent: undefined, active, metadata: true });
      }
    }
  }
  return out;
}

function claimGenerator(manifest: Manifest | undefined): string | undefined {
  const name = str(manifest?.claim?.claimGeneratorName);
  if (!name) return undefined;
  const version = str(manifest?.claim?.claimGeneratorVersion);
  return version ? `${name} ${version}` : name;
}

function describeSigner(manifest: Manifest | undefined, summary: C2paSummary): void {
  const cert = manifest?.signature?.signatureData?.certificate;
  if (!cert) return;
  try {
    summary.signer = distinguished(cert.subjectName.getField('O'), cert.subjectName.getField('CN'));
    summary.issuer = distinguished(cert.issuerName.getField('O'), cert.issuerName.getField('CN'));
    const ou = cert.subjectName.getField('OU').join(' ');
    summary.testCertificate = /FOR TESTING[_ ]ONLY/i.test(ou) || /C2PA Test/i.test(summary.signer ?? '');
  } catch {
    // A certificate c2pa-ts could not describe leaves the signer unnamed; validity still stands.
  }
}

function distinguished(o: string[], cn: string[]): string | undefined {
  const parts = [...o.map((v) => `O=${v}`), ...cn.map((v) => `CN=${v}`)];
  return parts.length > 0 ? parts.join(', ') : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value.slice(0, 200) : undefined;
}
