import { asciiAt, decodeUtf8OrLatin1, emptyContainer, startsWithAscii, TextBudget, type ContainerMetadata } from './container-metadata.js';
import { reassembleJpegJumbf, type JumbfSegment } from './jumbf-assembly.js';
import { LIMITS } from './limits.js';

const XMP_ID = 'http://ns.adobe.com/xap/1.0/\0';
const XMP_EXT_ID = 'http://ns.adobe.com/xmp/extension/\0';

export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/**
 * Walks JPEG marker segments up to the first scan (SOS) and keeps APP1 EXIF and XMP (with
 * extended XMP), APP11 JUMBF (C2PA, JPEG XT boxes split over segments), APP13 Photoshop IRB
 * (IPTC) and COM comments. Entropy-coded data is never read.
 */
export function readJpegMetadata(bytes: Uint8Array): ContainerMetadata {
  const meta = emptyContainer();
  if (!isJpeg(bytes)) {
    meta.notes.push('JPEG: bad signature');
    return meta;
  }
  const budget = new TextBudget(meta.notes);
  const jumbfSegments: JumbfSegment[] = [];
  const extendedXmp: { offset: number; data: Uint8Array }[] = [];
  let offset = 2;
  let segments = 0;
  while (offset + 4 <= bytes.length) {
    if (++segments > LIMITS.maxChunks) {
      meta.notes.push(`JPEG: stopped after ${LIMITS.maxChunks} segments`);
      break;
    }
    if (bytes[offset] !== 0xff) {
      meta.notes.push(`JPEG: lost marker sync at offset ${offset}`);
      break;
    }
    const marker = bytes[offset + 1] ?? 0;
    // Fill bytes and parameterless markers carry no length.
    if (marker === 0xff) {
      offset += 1;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      offset += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break;
    const length = ((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0);
    const end = offset + 2 + length;
    if (length < 2 || end > bytes.length) {
      meta.notes.push(`JPEG: truncated segment 0x${marker.toString(16)} at offset ${offset}`);
      break;
    }
    const data = bytes.subarray(offset + 4, end);
    readSegment(marker, data, meta, budget, jumbfSegments, extendedXmp);
    offset = end;
  }
  if (jumbfSegments.length > 0) {
    const assembled = reassembleJpegJumbf(jumbfSegments);
    if (assembled.jumbf) {
      meta.jumbf = assembled.jumbf;
      meta.jumbfSource = 'JPEG APP11';
    }
    meta.notes.push(...assembled.notes);
  }
  if (extendedXmp.length > 0) {
    extendedXmp.sort((a, b) => a.offset - b.offset);
    const total = extendedXmp.reduce((n, p) => n + p.data.length, 0);
    if (total <= LIMITS.maxChunkBytes && budget.take(total)) {
      meta.xmp.push(decodeUtf8OrLatin1(Buffer.concat(extendedXmp.map((p) => p.data))));
    }
  }
  return meta;
}

function readSegment(
  marker: number,
  data: Uint8Array,
  meta: ContainerMetadata,
  budget: TextBudget,
  jumbfSegments: JumbfSegment[],
  extendedXmp: { offset: number; data: Uint8Array }[],
): void {
  if (marker === 0xe1) {
    if (startsWithAscii(data, 0, 'Exif\0')) {
      // Some writers use "Exif\0\xff" instead of "Exif\0\0"; the TIFF header follows either way.
      meta.exif.push(data.subarray(6));
    } else if (startsWithAscii(data, 0, XMP_ID)) {
      const xml = data.subarray(XMP_ID.length);
      if (budget.take(xml.length)) meta.xmp.push(decodeUtf8OrLatin1(xml));
    } else if (startsWithAscii(data, 0, XMP_EXT_ID) && data.length > XMP_EXT_ID.length + 40) {
      if (extendedXmp.length >= LIMITS.maxXmpPackets) return;
      const base = XMP_EXT_ID.length + 32;
      const pieceOffset = new DataView(data.buffer, data.byteOffset + base + 4, 4).getUint32(0);
      extendedXmp.push({ offset: pieceOffset, data: data.subarray(base + 8) });
    }
  } else if (marker === 0xeb) {
    // JPEG XT / JUMBF: CI "JP", En (box instance), Z (sequence), then the box (header repeated).
    if (data.length >= 16 && asciiAt(data, 0, 2) === 'JP') {
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      jumbfSegments.push({ instance: view.getUint16(2), sequence: view.getUint32(4), payload: data.subarray(8) });
    }
  } else if (marker === 0xed) {
    if (startsWithAscii(data, 0, 'Photoshop 3.0\0')) meta.photoshopIrb.push(data.subarray(14));
  } else if (marker === 0xfe) {
    const text = decodeUtf8OrLatin1(data);
    if (budget.take(text.length)) meta.texts.push({ container: 'JPEG COM', key: 'Comment', value: text });
  }
}
