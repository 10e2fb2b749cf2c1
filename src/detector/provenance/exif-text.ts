import exifr from 'exifr';
import type { TextEntry } from './container-metadata.js';

/** EXIF fields that can carry generator names, prompts, parameters or AIGC labels. */
const TEXT_TAGS = [
  'Make',
  'Model',
  'Software',
  'ImageDescription',
  'Artist',
  'Copyright',
  'HostComputer',
  'UserComment',
  'XPTitle',
  'XPComment',
  'XPAuthor',
  'XPSubject',
  'XPKeywords',
] as const;

type ExifParse = (data: Uint8Array, options: Record<string, unknown>) => Promise<Record<string, unknown> | undefined>;

// exifr ships UMD without `exports`; Node hands ESM the CommonJS object, so `parse` sits on it.
const parseExif: ExifParse = ((exifr as unknown as { parse?: ExifParse }).parse ??
  (exifr as unknown as { default: { parse: ExifParse } }).default.parse) as ExifParse;

/**
 * Text fields of one TIFF-structured EXIF blob, via exifr (IFD0 and the EXIF IFD only; no maker
 * notes, thumbnails, GPS). UserComment and the Windows XP* tags are decoded here because their
 * encodings (charset prefix; UCS-2) are where generator parameters hide.
 */
export async function readExifText(tiff: Uint8Array, container = 'EXIF'): Promise<TextEntry[]> {
  return (await readExifFields(tiff, container, false)).texts;
}

/**
 * The same for a whole TIFF / HEIF / AVIF file, where exifr finds the EXIF itself; with
 * `withXmp` the raw XMP packet comes back too (exifr's XMP parser is bypassed).
 */
export async function readExifFields(
  data: Uint8Array,
  container: string,
  withXmp: boolean,
): Promise<{ texts: TextEntry[]; xmp: string | undefined; errors: string[] }> {
  const out: TextEntry[] = [];
  const parsed = await parseExif(data, {
    tiff: true,
    ifd0: { pick: [...TEXT_TAGS] },
    exif: { pick: ['UserComment'] },
    ifd1: false,
    gps: false,
    interop: false,
    makerNote: false,
    userComment: true,
    xmp: withXmp ? { parse: false } : false,
    iptc: false,
    icc: false,
    jfif: false,
    ihdr: false,
    translateKeys: true,
    translateValues: false,
    reviveValues: false,
    sanitize: true,
    mergeOutput: true,
  });
  if (!parsed) return { texts: out, xmp: undefined, errors: [] };
  // exifr reports some problems (e.g. malformed HEIF EXIF) in `errors` instead of throwing.
  const errors = Array.isArray(parsed['errors']) ? parsed['errors'].map((e: unknown) => (e instanceof Error ? e.message : String(e))) : [];
  for (const tag of TEXT_TAGS) {
    const raw = parsed[tag] ?? (tag === 'UserComment' ? parsed['userComment'] : undefined);
    const value = exifValueToText(tag, raw);
    if (value) out.push({ container, key: tag, value });
  }
  const xmp = parsed['xmp'];
  return { texts: out, xmp: typeof xmp === 'string' ? xmp : undefined, errors };
}

function exifValueToText(tag: string, raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') return cleanText(raw);
  const bytes = toBytes(raw);
  if (!bytes) return undefined;
  if (tag === 'UserComment') return cleanText(decodeUserComment(bytes));
  if (tag.startsWith('XP')) return cleanText(Buffer.from(bytes).toString('utf16le'));
  return cleanText(Buffer.from(bytes).toString('latin1'));
}

function toBytes(raw: unknown): Uint8Array | undefined {
  if (raw instanceof Uint8Array) return raw;
  if (Array.isArray(raw) && raw.every((n) => typeof n === 'number')) return Uint8Array.from(raw as number[]);
  return undefined;
}

/**
 * EXIF UserComment: an 8-byte charset prefix, then the text. "UNICODE" is UCS-2 in the file's byte
 * order by the spec, but AUTOMATIC1111 (piexif) and others disagree, so the order is guessed
 * from where the zero bytes of ASCII characters fall.
 */
export function decodeUserComment(bytes: Uint8Array): string {
  const prefix = Buffer.from(bytes.subarray(0, 8)).toString('latin1');
  const body = bytes.subarray(8);
  if (prefix.startsWith('UNICODE')) {
    let evenZeros = 0;
    let oddZeros = 0;
    for (let i = 0; i + 1 < Math.min(body.length, 512); i += 2) {
      if (body[i] === 0) evenZeros++;
      if (body[i + 1] === 0) oddZeros++;
    }
    const buf = Buffer.from(body.subarray(0, body.length & ~1));
    if (evenZeros > oddZeros) buf.swap16();
    return buf.toString('utf16le');
  }
  if (prefix.startsWith('ASCII') || prefix === '\0\0\0\0\0\0\0\0') return Buffer.from(body).toString('utf8');
  if (prefix.startsWith('JIS')) return Buffer.from(body).toString('latin1');
  return Buffer.from(bytes).toString('utf8');
}

function cleanText(text: string): string | undefined {
  const cleaned = text.replace(/\u0000+$/g, '').trim();
  return cleaned.length > 0 ? cleaned : undefined;
}
