import type { ImageFormat } from '../../intake/image-input.js';
import { findAigcLabels } from './aigc-label.js';
import { readC2pa } from './c2pa-reader.js';
import { emptyContainer, type ContainerMetadata, type TextEntry } from './container-metadata.js';
import { readExifText } from './exif-text.js';
import { findGeneratorMarkers } from './generator-markers.js';
import { readInvisibleWatermark } from './invisible-watermark.js';
import { readIptcIim } from './iptc-iim.js';
import { classifySourceType } from './iptc-source-types.js';
import { LIMITS } from './limits.js';
import { emptyC2paSummary, type ProvenanceMarker, type ProvenanceReport } from './provenance-report.js';
import { MIME_TYPES, readContainer, sniffFormat } from './read-container.js';
import { readStealthPnginfo } from './stealth-pnginfo.js';
import { readXmp, type XmpProperty } from './xmp-fields.js';

export interface InspectOptions {
  /** Checked between stages; an aborted inspection returns what it has so far. */
  signal?: AbortSignal;
  /** Decode the alpha channel for A1111 stealth pnginfo (PNG/WebP with alpha only). Default true. */
  stealth?: boolean;
  /** Decode the pixels for the invisible-watermark dwtDct mark (up to LIMITS.watermarkMaxPixels). Default true. */
  watermark?: boolean;
}

/** Formats whose pixels can still hold the mark; GIF's palette and AVIF's coding destroy it. */
const WATERMARK_FORMATS = new Set<ImageFormat>(['png', 'webp', 'jpeg', 'bmp', 'tiff']);

/**
 * Everything the file says about its own origin: C2PA, IPTC digital source types, generator
 * metadata, AIGC labels, generator names, and (in its pixels) the invisible-watermark dwtDct mark.
 * Each source is read on its own; a source that fails to parse becomes a note and the others
 * still count. Never throws.
 */
export async function inspectProvenance(bytes: Buffer | Uint8Array, format: ImageFormat, options: InspectOptions = {}): Promise<ProvenanceReport> {
  const effective = sniffFormat(bytes, format);
  const report: ProvenanceReport = { format: effective, markers: [], c2pa: emptyC2paSummary(), textKeys: [], sources: [], notes: [] };
  if (effective !== format) report.notes.push(`bytes are ${effective}, not ${format}`);
  const stopped = (): boolean => options.signal?.aborted === true;

  let meta: ContainerMetadata;
  try {
    meta = await readContainer(bytes, effective);
  } catch (error) {
    meta = emptyContainer();
    report.notes.push(`container unreadable: ${message(error)}`);
  }
  report.notes.push(...meta.notes);
  report.textKeys = meta.texts.filter((t) => t.container.startsWith('PNG')).map((t) => t.key);

  const texts: TextEntry[] = [...meta.texts];
  for (const blob of meta.exif.slice(0, LIMITS.maxBlobsPerKind)) {
    try {
      texts.push(...(await readExifText(blob)));
    } catch (error) {
      report.notes.push(`EXIF unreadable: ${message(error)}`);
    }
  }
  for (const irb of meta.photoshopIrb.slice(0, LIMITS.maxBlobsPerKind)) texts.push(...readIptcIim(irb, report.notes));
  const aigcProperties: XmpProperty[] = [];
  for (const packet of meta.xmp.slice(0, LIMITS.maxBlobsPerKind)) {
    try {
      const xmp = readXmp(packet);
      texts.push(...xmp.texts);
      aigcProperties.push(...xmp.aigc);
      for (const p of xmp.digitalSourceTypes) report.markers.push(sourceTypeMarker(p));
    } catch (error) {
      report.notes.push(`XMP unreadable: ${message(error)}`);
    }
  }
  report.sources = sourcesOf(meta, texts);
  report.markers.push(...safely(() => findGeneratorMarkers(texts), report.notes, 'generator metadata'));
  report.markers.push(...safely(() => findAigcLabels(texts, aigcProperties), report.notes, 'AIGC label'));

  if (meta.jumbf && !stopped()) {
    try {
      const c2pa = await readC2pa(bytes, meta.jumbf, MIME_TYPES[effective]);
      report.c2pa = c2pa.summary;
      report.markers.push(...c2pa.markers);
      report.notes.push(...c2pa.notes);
    } catch (error) {
      report.c2pa = { ...emptyC2paSummary(), present: true, validity: 'invalid', failures: ['general.error'] };
      report.notes.push(`C2PA unreadable: ${message(error)}`);
    }
  }

  const haveStrongAi = (): boolean => report.markers.some((m) => m.indicates === 'ai' && m.strength === 'strong');
  if (options.stealth !== false && !haveStrongAi() && meta.hasAlpha && (effective === 'png' || effective === 'webp') && !stopped()) {
    const marker = await stealthMarker(bytes, report.notes);
    if (marker) {
      report.markers.push(marker);
      report.sources.push('alpha-LSB');
    }
  }
  // Pixel decoding is the costliest step here, so it runs only when nothing strong was found.
  if (options.watermark !== false && !haveStrongAi() && WATERMARK_FORMATS.has(effective) && !stopped()) {
    const marker = await watermarkMarker(bytes, report.notes);
    if (marker) {
      report.markers.push(marker);
      report.sources.push('invisible watermark');
    }
  }
  report.markers = unique(report.markers);
  return report;
}

/** The same finding reached through two sources (e.g. EXIF and its XMP mirror) is listed once. */
function unique(markers: ProvenanceMarker[]): ProvenanceMarker[] {
  const seen = new Set<string>();
  return markers.filter((m) => {
    const id = `${m.kind}|${m.indicates}|${m.detail}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function sourceTypeMarker(p: XmpProperty): ProvenanceMarker {
  const info = classifySourceType(p.value);
  const base = { kind: 'digital_source_type' as const, source: 'XMP', strength: info.strength };
  if (info.verdict === 'ai') {
    return { ...base, indicates: 'ai', detail: `XMP ${p.name} ${info.code} (${info.label})`, score: Math.min(info.score, 0.98) };
  }
  if (info.verdict === 'capture') {
    // Unsigned: anyone can write it, so it is reported but never lowers a score.
    return { ...base, indicates: 'capture', detail: `XMP ${p.name} ${info.code} (${info.label}; unsigned, not evidence of a real photo)` };
  }
  return { ...base, indicates: 'neutral', detail: `XMP ${p.name} ${info.code} (${info.label})` };
}

async function stealthMarker(bytes: Uint8Array, notes: string[]): Promise<ProvenanceMarker | undefined> {
  try {
    const result = await readStealthPnginfo(bytes);
    if (!result.found) {
      if (result.note) notes.push(result.note);
      return undefined;
    }
    const inner = findGeneratorMarkers([{ container: 'alpha-LSB', key: 'stealth pnginfo', value: result.text }]);
    const what = inner.find((m) => m.kind === 'generator_metadata')?.detail.replace(/ in alpha-LSB "stealth pnginfo"$/, '');
    return {
      kind: 'stealth_metadata',
      indicates: 'ai',
      source: 'alpha-LSB',
      detail: `AUTOMATIC1111 stealth pnginfo hidden in the alpha channel (${result.compressed ? 'gzip' : 'plain'})${what ? `: ${what}` : ''}`,
      strength: 'strong',
      score: 0.98,
    };
  } catch (error) {
    notes.push(`stealth pnginfo not checked: ${message(error)}`);
    return undefined;
  }
}

async function watermarkMarker(bytes: Uint8Array, notes: string[]): Promise<ProvenanceMarker | undefined> {
  try {
    const result = await readInvisibleWatermark(bytes);
    if (!result.checked) {
      if (result.note) notes.push(result.note);
      return undefined;
    }
    const { found, near } = result.match;
    if (near) {
      const needed = near.bits - near.watermark.maxDistance;
      notes.push(`possible invisible watermark ${near.watermark.label}: ${near.agreeing}/${near.bits} bits (${needed} needed), not counted`);
    }
    if (!found) return undefined;
    return {
      kind: 'invisible_watermark',
      indicates: 'ai',
      source: 'invisible watermark',
      detail: `invisible watermark: ${found.watermark.label} — ${found.agreeing}/${found.bits} bits`,
      strength: 'strong',
      // As strong as a generator named in a tool field: the message is public and can be embedded
      // into anything, but nobody does that to a real photo by accident.
      score: 0.97,
    };
  } catch (error) {
    notes.push(`invisible watermark not checked: ${message(error)}`);
    return undefined;
  }
}

function sourcesOf(meta: ContainerMetadata, texts: TextEntry[]): string[] {
  const sources = new Set<string>();
  for (const t of texts) sources.add(t.container);
  if (meta.exif.length > 0) sources.add('EXIF');
  if (meta.xmp.length > 0) sources.add('XMP');
  if (meta.photoshopIrb.length > 0) sources.add('IPTC');
  if (meta.jumbfSource) sources.add(meta.jumbfSource);
  return [...sources];
}

function safely(fn: () => ProvenanceMarker[], notes: string[], what: string): ProvenanceMarker[] {
  try {
    return fn();
  } catch (error) {
    notes.push(`${what} not read: ${message(error)}`);
    return [];
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
