import { deflateSync, gzipSync } from 'node:zlib';
import { jpegSegment, pngChunk, xmpPacket, zTXtRaw } from '../provenance/craft.js';
import { box, findFourCC, jpegLengths } from './containers.js';
import { app11Segments, billionLaughs, deepJumbf, greyIdat, loopingExif, manyFrameGif, PNG_MAGIC, pngFile, splitSegments, zeroBomb } from './hostile-builders.js';
import type { Prng } from './prng.js';
import { withJpegSegments, withPngChunks, type SeedImage } from './seed-images.js';

/**
 * Hand-made hostile files, one recipe per attack the issue lists: absurd declared sizes,
 * decompression bombs, thousands of frames, oversized metadata, deep JUMBF, polyglots and
 * text dressed up as images. Each recipe is a pure function of the PRNG and the seeds.
 */
export interface Recipe {
  name: string;
  make: (random: Prng, seeds: Map<string, Buffer>) => Buffer;
}

const XMP_NS = Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1');
const XMP_EXT_NS = Buffer.from('http://ns.adobe.com/xmp/extension/\0', 'latin1');

const SVG = '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000" onload="alert(1)"><script>fetch("http://169.254.169.254/")</script><image href="file:///etc/passwd"/></svg>';
const HTML = '<!DOCTYPE html><html><head><title>@everyone</title></head><body><img src=x onerror=alert(1)><script>alert(document.cookie)</script></body></html>';

export const RECIPES: Recipe[] = [
  // --- declared sizes far beyond the pixel cap (must be refused from the header) ---
  { name: 'png-100000x100000', make: () => pngFile(100_000, 100_000, Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])) },
  { name: 'png-2^31-wide', make: (r) => pngFile(0x7fffffff, r.pick([1, 0x7fffffff]), Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])) },
  {
    name: 'jpeg-65500x65500',
    make: (_r, seeds) => {
      const bytes = Buffer.from(seeds.get('jpeg-baseline')!);
      // The SOF0 segment's length field is 2 bytes after its marker; height and width follow the precision byte.
      const sof = jpegLengths(bytes).find((f) => f.label === 'jpeg:c0');
      if (sof) {
        // 65 500 is libjpeg's largest dimension: anything above fails as corrupt, not as too many pixels.
        bytes.writeUInt16BE(65_500, sof.at + 3);
        bytes.writeUInt16BE(65_500, sof.at + 5);
      }
      return bytes;
    },
  },
  {
    name: 'gif-65535x65535',
    make: (_r, seeds) => {
      const bytes = Buffer.from(seeds.get('gif')!);
      bytes.writeUInt16LE(65_535, 6);
      bytes.writeUInt16LE(65_535, 8);
      return bytes;
    },
  },
  {
    name: 'webp-16383x16383',
    make: (_r, seeds) => {
      const bytes = Buffer.from(seeds.get('webp-lossy')!);
      const start = bytes.indexOf(Buffer.from([0x9d, 0x01, 0x2a]));
      if (start > 0) {
        bytes.writeUInt16LE(0x3fff, start + 3);
        bytes.writeUInt16LE(0x3fff, start + 5);
      }
      return bytes;
    },
  },
  {
    name: 'avif-ispe-100000x100000',
    make: (_r, seeds) => {
      const bytes = Buffer.from(seeds.get('avif')!);
      for (let at = findFourCC(bytes, 'ispe'); at >= 0; at = findFourCC(bytes, 'ispe', at + 4)) {
        bytes.writeUInt32BE(100_000, at + 8);
        bytes.writeUInt32BE(100_000, at + 12);
      }
      return bytes;
    },
  },
  {
    name: 'bmp-declared-huge',
    make: (r, seeds) => {
      const bytes = Buffer.from(seeds.get('bmp-24')!);
      bytes.writeInt32LE(r.pick([100_000, 0x7fffffff, -1, 65_536]), 18);
      bytes.writeInt32LE(r.pick([100_000, -0x7fffffff, -100_000, 0]), 22);
      return bytes;
    },
  },
  {
    name: 'bmp-rle-overrun',
    make: (r, seeds) => {
      const bytes = Buffer.from(seeds.get('bmp-rle8')!);
      const dataOffset = bytes.readUInt32LE(10);
      // Runs and deltas that point past the image, absolute runs longer than the data.
      const evil = [255, 7, 0, 2, 255, 255, 0, 255, 9, 9, 0, 0, 255, 1, 0, 2, 200, 200];
      const out = Buffer.concat([bytes.subarray(0, dataOffset), Buffer.from(evil.map((b) => (r.chance(0.2) ? r.int(256) : b)))]);
      out.writeUInt32LE(out.length, 2);
      return out;
    },
  },
  {
    name: 'bmp-palette-and-offset-lies',
    make: (r, seeds) => {
      const bytes = Buffer.from(seeds.get(r.pick(['bmp-8-palette', 'bmp-4-palette', 'bmp-1-palette']))!);
      bytes.writeUInt32LE(r.pick([0xffffffff, 1 << 24, 257, 0]), 46); // colours used
      if (r.chance(0.5)) bytes.writeUInt32LE(r.pick([0xfffffff0, bytes.length + 10, 0, 14]), 10); // pixel data offset
      if (r.chance(0.3)) bytes.writeUInt32LE(r.pick([0, 7, 0xffffffff, 124, 64]), 14); // header size
      return bytes;
    },
  },
  // --- decompression bombs ---
  // Within the 40 MP cap but a full decode: the most one image can legitimately cost.
  { name: 'png-bomb-40MP-at-cap', make: () => pngFile(8_000, 5_000, greyIdat(8_000, 5_000), [], 0) },
  { name: 'png-bomb-400MP-over-cap', make: () => pngFile(20_000, 20_000, greyIdat(20_000, 1), [], 0) },
  // IDAT that inflates to far more than a 16×16 image needs.
  { name: 'png-idat-overflow', make: () => pngFile(16, 16, zeroBomb(64), [], 0) },
  { name: 'png-ztxt-bomb', make: () => withPngChunks(pngFile(1, 1, deflateSync(Buffer.from([0, 1, 2, 3]))), zTXtRaw('parameters', zeroBomb(256))) },
  {
    name: 'png-itxt-bomb-repeated',
    make: (r) => {
      const chunk = pngChunk('iTXt', Buffer.concat([Buffer.from('prompt\0\x01\0\0\0', 'latin1'), zeroBomb(64)]));
      return withPngChunks(pngFile(1, 1, deflateSync(Buffer.from([0, 1, 2, 3]))), ...Array.from({ length: 2 + r.int(14) }, () => chunk));
    },
  },
  { name: 'png-iccp-bomb', make: () => withPngChunks(pngFile(4, 4, deflateSync(Buffer.alloc(4 * 13))), pngChunk('iCCP', Buffer.concat([Buffer.from('icc\0\0', 'latin1'), zeroBomb(128)]))) },
  { name: 'webp-riff-4GiB', make: (_r, seeds) => { const b = Buffer.from(seeds.get('webp-lossy')!); b.writeUInt32LE(0xfffffff0, 4); return b; } },
  // --- animation abuse ---
  { name: 'gif-5000-frames', make: (r) => manyFrameGif(2_000 + r.int(3_001)) },
  { name: 'gif-frames-on-huge-screen', make: () => manyFrameGif(500, 6_000, 6_000) },
  // --- oversized metadata ---
  {
    name: 'jpeg-exif-loops',
    make: (r, seeds) => withJpegSegments(seeds.get('jpeg-baseline')!, ...Array.from({ length: 1 + r.int(40) }, () => jpegSegment(0xe1, loopingExif(r)))),
  },
  {
    name: 'jpeg-exif-64k-segments',
    make: (r, seeds) => withJpegSegments(seeds.get('jpeg-baseline')!, ...Array.from({ length: 16 + r.int(100) }, () => jpegSegment(0xe1, Buffer.concat([Buffer.from('Exif\0\0II*\0\x08\0\0\0', 'latin1'), r.bytes(65_000)])))),
  },
  {
    name: 'jpeg-xmp-extended-flood',
    make: (r, seeds) => {
      const guid = Buffer.from('0123456789ABCDEF0123456789ABCDEF', 'latin1');
      const parts = Array.from({ length: 30 + r.int(120) }, (_, i) => {
        const head = Buffer.alloc(8);
        head.writeUInt32BE(0xfffffff0, 0); // full length: 4 GiB
        head.writeUInt32BE(i * 60_000, 4);
        return jpegSegment(0xe1, Buffer.concat([XMP_EXT_NS, guid, head, Buffer.alloc(60_000, 0x20)]));
      });
      const main = jpegSegment(0xe1, Buffer.concat([XMP_NS, Buffer.from(xmpPacket(`<rdf:Description xmlns:xmpNote="http://ns.adobe.com/xmp/note/" xmpNote:HasExtendedXMP="${guid.toString('latin1')}"/>`))]));
      return withJpegSegments(seeds.get('jpeg-baseline')!, main, ...parts);
    },
  },
  { name: 'jpeg-xmp-billion-laughs', make: (_r, seeds) => withJpegSegments(seeds.get('jpeg-baseline')!, jpegSegment(0xe1, Buffer.concat([XMP_NS, Buffer.from(billionLaughs())]))) },
  {
    name: 'jpeg-xmp-deep-nesting',
    make: (r, seeds) => {
      const depth = 5_000 + r.int(20_000);
      const xml = xmpPacket(`<rdf:Description>${'<rdf:Bag><rdf:li>'.repeat(depth)}x${'</rdf:li></rdf:Bag>'.repeat(depth)}</rdf:Description>`);
      return withJpegSegments(seeds.get('jpeg-baseline')!, ...splitSegments(0xe1, XMP_NS, Buffer.from(xml)));
    },
  },
  {
    name: 'jpeg-icc-255-chunks',
    make: (r, seeds) => {
      const count = 255;
      const n = 10 + r.int(60);
      const chunks = Array.from({ length: n }, (_, i) =>
        jpegSegment(0xe2, Buffer.concat([Buffer.from('ICC_PROFILE\0', 'latin1'), Buffer.from([i + 1, count]), r.bytes(60_000)])),
      );
      return withJpegSegments(seeds.get('jpeg-baseline')!, ...chunks);
    },
  },
  {
    name: 'png-text-flood',
    make: (r, seeds) => {
      const size = 1_000 + r.int(60_000);
      const text = pngChunk('tEXt', Buffer.concat([Buffer.from('Comment\0', 'latin1'), Buffer.alloc(size, 0x41)]));
      // Up to about 11 MB: some just over the byte cap, most under it with thousands of chunks.
      const count = Math.min(50 + r.int(4_000), Math.floor(11_000_000 / size));
      return withPngChunks(seeds.get('png-rgb')!, ...Array.from({ length: count }, () => text));
    },
  },
  // --- C2PA / JUMBF ---
  { name: 'jpeg-c2pa-deep-jumbf', make: (r, seeds) => withJpegSegments(seeds.get('jpeg-baseline')!, ...app11Segments(deepJumbf(100 + r.int(20_000)))) },
  { name: 'png-cabx-deep-jumbf', make: (r, seeds) => withPngChunks(seeds.get('png-rgb')!, pngChunk('caBX', deepJumbf(100 + r.int(20_000)))) },
  {
    name: 'jpeg-c2pa-huge-store',
    make: (r, seeds) => {
      const store = Buffer.concat([deepJumbf(3), box('cbor', r.bytes(200_000 + r.int(2_000_000)))]);
      store.writeUInt32BE(store.length, 0);
      return withJpegSegments(seeds.get('jpeg-baseline')!, ...app11Segments(store));
    },
  },
  {
    name: 'jpeg-c2pa-lying-box-sizes',
    make: (r, seeds) => {
      const store = deepJumbf(6);
      for (let at = 0; at + 8 < store.length; at += 8 + r.int(40)) if (r.chance(0.3)) store.writeUInt32BE(r.pick([0, 1, 7, 0xffffffff, store.length * 2]), at);
      return withJpegSegments(seeds.get('jpeg-baseline')!, ...app11Segments(store), ...app11Segments(store, 2));
    },
  },
  {
    name: 'webp-c2pa-chunk',
    make: (r, seeds) => {
      const webp = seeds.get('webp-lossy')!;
      const jumbf = deepJumbf(50 + r.int(2_000));
      const head = Buffer.alloc(8);
      head.write('C2PA', 0, 'latin1');
      head.writeUInt32LE(jumbf.length, 4);
      const out = Buffer.concat([webp, head, jumbf, Buffer.alloc(jumbf.length & 1)]);
      out.writeUInt32LE(out.length - 8, 4);
      return out;
    },
  },
  // --- polyglots ---
  { name: 'polyglot-png-html', make: (_r, seeds) => Buffer.concat([seeds.get('png-rgb')!, Buffer.from(HTML)]) },
  { name: 'polyglot-jpeg-zip', make: (r, seeds) => Buffer.concat([seeds.get('jpeg-baseline')!, Buffer.from('PK\x03\x04', 'latin1'), r.bytes(2_000), Buffer.from('PK\x05\x06', 'latin1'), Buffer.alloc(18)]) },
  { name: 'polyglot-gif-js', make: () => Buffer.concat([Buffer.from('GIF89a/*\x01\x00\x01\x00\x80\x00\x00', 'latin1'), Buffer.from('*/=1;alert(document.domain)//;', 'latin1'), Buffer.from([0x3b])]) },
  { name: 'polyglot-png-magic-then-html', make: () => Buffer.concat([PNG_MAGIC, Buffer.from(HTML)]) },
  { name: 'polyglot-jpeg-comment-script', make: (_r, seeds) => withJpegSegments(seeds.get('jpeg-baseline')!, jpegSegment(0xfe, `*/${HTML}/*`)) },
  { name: 'polyglot-riff-webp-no-chunks', make: () => Buffer.from('RIFF\x04\x00\x00\x00WEBP', 'latin1') },
  // --- text dressed as images ---
  { name: 'svg-as-png', make: () => Buffer.from(SVG) },
  { name: 'svgz-as-png', make: () => gzipSync(Buffer.from(SVG)) },
  { name: 'html-as-jpg', make: () => Buffer.from(HTML) },
  { name: 'html-bom-as-gif', make: () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`   \n${HTML}`)]) },
  { name: 'xml-entity-as-webp', make: () => Buffer.from(billionLaughs()) },
  { name: 'pdf-as-png', make: () => Buffer.from('%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF') },
  { name: 'heic-as-avif', make: () => Buffer.concat([box('ftyp', Buffer.from('heic\0\0\0\0mif1heic', 'latin1')), box('mdat', Buffer.alloc(64))]) },
  {
    name: 'avif-box-size-abuse',
    make: (r, seeds) => {
      const bytes = Buffer.from(seeds.get('avif')!);
      for (const fourcc of ['meta', 'iloc', 'ipco', 'iinf', 'mdat']) {
        const at = findFourCC(bytes, fourcc);
        if (at >= 4 && r.chance(0.6)) bytes.writeUInt32BE(r.pick([0, 1, 8, 0xffffffff]), at - 4);
      }
      return bytes;
    },
  },
];

export function seedMap(seeds: SeedImage[]): Map<string, Buffer> {
  return new Map(seeds.map((s) => [s.name, s.bytes]));
}
