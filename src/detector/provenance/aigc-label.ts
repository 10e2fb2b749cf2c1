import type { TextEntry } from './container-metadata.js';
import { isObject, parseJsonObject } from './generator-markers.js';
import type { ProvenanceMarker } from './provenance-report.js';
import { findXmpProperty, type XmpProperty } from './xmp-fields.js';

/**
 * China's implicit AIGC label (GB 45438-2025, TC260 practice guide): an `AIGC` object with
 * `Label` ("1" AI-generated, "2" possibly AI-generated, "3" suspected AI-generated),
 * `ContentProducer`, `ProduceID`, `ContentPropagator`, `PropagateID` and reserved codes. It is
 * written as XMP `TC260:AIGC` (a JSON string, or nested properties) or as JSON
 * `{"AIGC":{…}}` in EXIF / PNG text fields.
 */
const LABELS: Record<string, { meaning: string; strength: ProvenanceMarker['strength']; score: number }> = {
  '1': { meaning: 'AI-generated', strength: 'strong', score: 0.98 },
  '2': { meaning: 'possibly AI-generated', strength: 'moderate', score: 0.85 },
  '3': { meaning: 'suspected AI-generated', strength: 'moderate', score: 0.8 },
};
const FIELDS = ['ContentProducer', 'ProduceID', 'ContentPropagator', 'PropagateID'];
const MAX_OBJECT = 64 * 1024;

export function findAigcLabels(texts: TextEntry[], xmpAigc: XmpProperty[]): ProvenanceMarker[] {
  const out: ProvenanceMarker[] = [];
  for (const p of xmpAigc) {
    const label = parseJsonObject(p.value) ?? propertiesObject(p.inner);
    if (label) out.push(toMarker(label, `XMP ${JSON.stringify(p.name)}`));
  }
  for (const t of texts) {
    const local = t.key.slice(t.key.lastIndexOf(':') + 1);
    const where = `${t.container} ${JSON.stringify(t.key)}`;
    if (local.toUpperCase() === 'AIGC') {
      const json = parseJsonObject(t.value);
      const label = json && isObject(json['AIGC']) ? json['AIGC'] : json;
      if (label) out.push(toMarker(label, where));
      continue;
    }
    if (!t.value.includes('AIGC')) continue;
    const label = extractAigcObject(t.value);
    if (label) out.push(toMarker(label, where));
  }
  return out;
}

function toMarker(label: Record<string, unknown>, where: string): ProvenanceMarker {
  const raw = label['Label'] ?? label['label'];
  const code = typeof raw === 'number' || typeof raw === 'string' ? String(raw).trim() : '';
  const known = LABELS[code];
  const extras = FIELDS.map((f) => (typeof label[f] === 'string' && label[f] ? `${f} ${String(label[f]).slice(0, 64)}` : undefined)).filter(Boolean);
  const tail = `${extras.length ? `; ${extras.join('; ')}` : ''} in ${where}`;
  if (!known) {
    return { kind: 'aigc_label', indicates: 'neutral', source: where, detail: `AIGC implicit label with unrecognised Label ${JSON.stringify(code)}${tail}`, strength: 'weak' };
  }
  return {
    kind: 'aigc_label',
    indicates: 'ai',
    source: where,
    detail: `AIGC implicit label (GB 45438-2025): Label ${code} = ${known.meaning}${tail}`,
    strength: known.strength,
    score: known.score,
  };
}

/** `<TC260:AIGC rdf:parseType="Resource"><TC260:Label>1</TC260:Label>…` */
function propertiesObject(inner: string): Record<string, unknown> | undefined {
  if (!inner) return undefined;
  const label = findXmpProperty(inner, 'Label')[0]?.value;
  if (label === undefined) return undefined;
  const out: Record<string, unknown> = { Label: label };
  for (const f of FIELDS) {
    const v = findXmpProperty(inner, f)[0]?.value;
    if (v) out[f] = v;
  }
  return out;
}

/** Finds `"AIGC": { … }` in free text and parses the object (string-aware brace matching, bounded). */
export function extractAigcObject(text: string): Record<string, unknown> | undefined {
  const whole = parseJsonObject(text);
  if (whole && isObject(whole['AIGC'])) return whole['AIGC'];
  const key = text.search(/["']?AIGC["']?\s*[:=]\s*\{/);
  if (key < 0) return undefined;
  const start = text.indexOf('{', key);
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length && i - start < MAX_OBJECT; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
    } else if (ch === '{') {
      depth++;
    } else if (ch === '}' && --depth === 0) {
      return parseJsonObject(text.slice(start, i + 1));
    }
  }
  return undefined;
}
