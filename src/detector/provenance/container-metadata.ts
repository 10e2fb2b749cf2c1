import { LIMITS } from './limits.js';

/** One text field found in a file, before anyone has judged what it means. */
export interface TextEntry {
  /** Where it was found, for evidence: `PNG tEXt`, `EXIF`, `XMP`, `IPTC`, `JPEG COM`, … */
  container: string;
  /** The field name: PNG keyword, EXIF tag name, XMP property, IPTC dataset name. */
  key: string;
  value: string;
}

/** What a container walker found: raw metadata blocks, not yet interpreted. */
export interface ContainerMetadata {
  texts: TextEntry[];
  /** XMP packets (XML text). */
  xmp: string[];
  /** TIFF-structured EXIF blobs (starting at the `II*\0` / `MM\0*` header). */
  exif: Uint8Array[];
  /** Photoshop image-resource blocks (JPEG APP13), which hold IPTC-IIM. */
  photoshopIrb: Uint8Array[];
  /** The C2PA manifest store (JUMBF superbox), reassembled. */
  jumbf: Uint8Array | undefined;
  /** Where the JUMBF came from, e.g. `JPEG APP11`, `PNG caBX`. */
  jumbfSource: string | undefined;
  /** The container says the image has an alpha channel (only PNG and WebP know cheaply). */
  hasAlpha: boolean;
  /** Parse problems and skipped sources, for humans. */
  notes: string[];
}

export function emptyContainer(): ContainerMetadata {
  return { texts: [], xmp: [], exif: [], photoshopIrb: [], jumbf: undefined, jumbfSource: undefined, hasAlpha: false, notes: [] };
}

/**
 * Keeps the total text read from one file under LIMITS.maxTotalTextBytes and the number of fields
 * under LIMITS.maxTextEntries, so a file with thousands of text chunks cannot grow the report.
 */
export class TextBudget {
  private bytes = 0;
  private entries = 0;
  private exhaustedNoted = false;

  constructor(private readonly notes: string[]) {}

  /** True when `size` more bytes may be kept; notes (once) when the budget runs out. */
  take(size: number): boolean {
    if (this.entries >= LIMITS.maxTextEntries || this.bytes + size > LIMITS.maxTotalTextBytes) {
      if (!this.exhaustedNoted) {
        this.notes.push('text budget exhausted: further metadata text skipped');
        this.exhaustedNoted = true;
      }
      return false;
    }
    this.bytes += size;
    this.entries += 1;
    return true;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

/** PNG tEXt is Latin-1 by the letter of the spec, but generators often write UTF-8 there. */
export function decodeUtf8OrLatin1(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return latin1.decode(bytes);
  }
}

export function decodeLatin1(bytes: Uint8Array): string {
  return latin1.decode(bytes);
}

export function asciiAt(bytes: Uint8Array, offset: number, length: number): string {
  if (offset < 0 || offset + length > bytes.length) return '';
  let s = '';
  for (let i = 0; i < length; i++) s += String.fromCharCode(bytes[offset + i] ?? 0);
  return s;
}

export function startsWithAscii(bytes: Uint8Array, offset: number, text: string): boolean {
  return asciiAt(bytes, offset, text.length) === text;
}
