import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inspectProvenance, ProvenanceDetector } from '../../src/detector/provenance/provenance-detector.js';
import { GenguardError } from '../../src/errors/genguard-error.js';
import {
  exifSegment,
  exifTiff,
  imageInput,
  iTXt,
  jpeg,
  jpegSegment,
  nestedJumbf,
  png,
  pngChunk,
  tEXt,
  userCommentUnicode,
  webp,
  xmpPacket,
  xmpSegment,
  zTXtRaw,
} from './craft.js';

const detector = new ProvenanceDetector();
const A1111 = 'a cat in a hat\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 512x512, Model: sd_xl_base_1.0';
const detect = (bytes: Buffer, format: 'png' | 'jpeg' | 'webp') => detector.detect(imageInput(bytes, format), {});

function dstXmp(code: string, form: 'attribute' | 'resource' | 'element' = 'attribute'): string {
  const uri = `http://cv.iptc.org/newscodes/digitalsourcetype/${code}`;
  const ns = 'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"';
  if (form === 'attribute') return xmpPacket(`<rdf:Description rdf:about="" ${ns} Iptc4xmpExt:DigitalSourceType="${uri}"/>`);
  if (form === 'resource') return xmpPacket(`<rdf:Description rdf:about="" ${ns}><Iptc4xmpExt:DigitalSourceType rdf:resource="${uri}"/></rdf:Description>`);
  return xmpPacket(`<rdf:Description rdf:about="" ${ns}><Iptc4xmpExt:DigitalSourceType>${uri}</Iptc4xmpExt:DigitalSourceType></rdf:Description>`);
}

describe('generator metadata in crafted files', () => {
  it('flags a PNG with an AUTOMATIC1111 tEXt "parameters" chunk', async () => {
    const outcome = await detect(png(tEXt('parameters', A1111)), 'png');
    expect(outcome).toMatchObject({ status: 'ok', score: 0.98 });
    if (outcome.status === 'ok') expect(outcome.evidence?.[0]).toMatch(/AUTOMATIC1111.*model sd_xl_base_1\.0.*PNG tEXt "parameters"/);
  });

  it('reads compressed iTXt and zTXt text', async () => {
    expect(await detect(png(iTXt('parameters', A1111, true)), 'png')).toMatchObject({ status: 'ok' });
    expect(await detect(png(zTXtRaw('parameters', deflateSync(Buffer.from(A1111)))), 'png')).toMatchObject({ status: 'ok' });
  });

  it('ignores a "parameters" chunk that is not generator output', async () => {
    expect(await detect(png(tEXt('parameters', 'exposure=2; gamma=1.1')), 'png')).toMatchObject({ status: 'abstain', code: 'no_provenance' });
  });

  it('flags A1111 parameters in a JPEG EXIF UserComment (UCS-2) and generator names in Software', async () => {
    const withComment = jpeg(exifSegment(exifTiff({}, userCommentUnicode(A1111))));
    expect(await detect(withComment, 'jpeg')).toMatchObject({ status: 'ok', score: 0.98 });
    const withSoftware = await detect(jpeg(exifSegment(exifTiff({ 0x0131: 'Midjourney v6' }))), 'jpeg');
    expect(withSoftware).toMatchObject({ status: 'ok' });
    if (withSoftware.status === 'ok') expect(withSoftware.evidence?.[0]).toMatch(/Midjourney.*EXIF "Software"/);
  });

  it('reads EXIF text of a whole TIFF file', async () => {
    const tiff = exifTiff({ 0x0131: 'Adobe Firefly', 0x010e: 'a fox' });
    expect(await detector.detect(imageInput(tiff, 'tiff'), {})).toMatchObject({ status: 'ok', score: 0.97 });
  });

  it('does not flag editors and cameras in Software fields', async () => {
    for (const software of ['Adobe Photoshop 25.0 (Windows)', 'Adobe Lightroom 5.3 (Macintosh)', 'GIMP 2.10.34', 'Canon EOS R5 Firmware 1.8']) {
      expect(await detect(jpeg(exifSegment(exifTiff({ 0x0131: software, 0x010f: 'Canon' }))), 'jpeg')).toMatchObject({ status: 'abstain' });
    }
  });

  it('flags ComfyUI graphs even with NaN, which JSON.parse rejects', async () => {
    const prompt = '{"3": {"inputs": {"cfg": NaN, "seed": 1}, "class_type": "KSampler"}}';
    const outcome = await detect(png(tEXt('prompt', prompt)), 'png');
    expect(outcome).toMatchObject({ status: 'ok' });
    if (outcome.status === 'ok') expect(outcome.evidence?.[0]).toMatch(/ComfyUI prompt graph/);
  });
});

describe('IPTC digital source type in XMP', () => {
  it.each(['attribute', 'resource', 'element'] as const)('flags trainedAlgorithmicMedia in a JPEG (%s form)', async (form) => {
    const outcome = await detect(jpeg(xmpSegment(dstXmp('trainedAlgorithmicMedia', form))), 'jpeg');
    expect(outcome).toMatchObject({ status: 'ok' });
    if (outcome.status !== 'ok') return;
    expect(outcome.score).toBeGreaterThanOrEqual(0.97);
    expect(outcome.evidence?.[0]).toMatch(/DigitalSourceType trainedAlgorithmicMedia/);
  });

  it('scores composites lower than fully generated images', async () => {
    const outcome = await detect(jpeg(xmpSegment(dstXmp('compositeWithTrainedAlgorithmicMedia'))), 'jpeg');
    expect(outcome).toMatchObject({ status: 'ok' });
    if (outcome.status === 'ok') expect(outcome.score).toBeGreaterThanOrEqual(0.7);
    if (outcome.status === 'ok') expect(outcome.score).toBeLessThan(0.97);
  });

  it('does not treat digitalCapture as AI, nor as proof of a photo when unsigned', async () => {
    const outcome = await detect(jpeg(xmpSegment(dstXmp('digitalCapture'))), 'jpeg');
    expect(outcome).toMatchObject({ status: 'abstain', code: 'provenance_inconclusive' });
    if (outcome.status === 'abstain') expect(outcome.reason).toMatch(/digitalCapture.*unsigned/);
  });

  it('reads XMP from a WebP XMP chunk and from a PNG iTXt packet', async () => {
    const w = webp({ type: 'VP8X', data: Buffer.alloc(10) }, { type: 'XMP ', data: Buffer.from(dstXmp('trainedAlgorithmicMedia')) });
    expect(await detect(w, 'webp')).toMatchObject({ status: 'ok' });
    expect(await detect(png(iTXt('XML:com.adobe.xmp', dstXmp('algorithmicMedia'))), 'png')).toMatchObject({ status: 'ok' });
  });
});

describe('AIGC implicit labels (GB 45438-2025)', () => {
  const label = (n: string) => JSON.stringify({ AIGC: { Label: n, ContentProducer: '001191110108MA01', ProduceID: 'abc123' } });

  it('flags Label 1 in an EXIF UserComment, naming the producer', async () => {
    const bytes = jpeg(exifSegment(exifTiff({}, Buffer.concat([Buffer.from('ASCII\0\0\0'), Buffer.from(label('1'))]))));
    const outcome = await detect(bytes, 'jpeg');
    expect(outcome).toMatchObject({ status: 'ok', score: 0.98 });
    if (outcome.status === 'ok') expect(outcome.evidence?.[0]).toMatch(/AIGC implicit label.*Label 1 = AI-generated; ContentProducer 001191110108MA01/);
  });

  it('scores "possibly" (2) and "suspected" (3) lower, still above the AI band', async () => {
    for (const [n, meaning] of [['2', 'possibly'], ['3', 'suspected']] as const) {
      const outcome = await detect(png(tEXt('Comment', `meta ${label(n)} end`)), 'png');
      expect(outcome).toMatchObject({ status: 'ok' });
      if (outcome.status !== 'ok') continue;
      expect(outcome.score).toBeGreaterThanOrEqual(0.7);
      expect(outcome.score).toBeLessThan(0.98);
      expect(outcome.evidence?.[0]).toContain(meaning);
    }
  });

  it('reads XMP TC260:AIGC as an escaped JSON attribute and as nested properties', async () => {
    const ns = 'xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/"';
    const attr = xmpPacket(`<rdf:Description rdf:about="" ${ns} TC260:AIGC="{&quot;Label&quot;:&quot;1&quot;,&quot;ContentProducer&quot;:&quot;X1&quot;}"/>`);
    const nested = xmpPacket(`<rdf:Description rdf:about="" ${ns}><TC260:AIGC rdf:parseType="Resource"><TC260:Label>1</TC260:Label><TC260:ContentProducer>X2</TC260:ContentProducer></TC260:AIGC></rdf:Description>`);
    for (const [xml, producer] of [[attr, 'X1'], [nested, 'X2']] as const) {
      const outcome = await detect(jpeg(xmpSegment(xml)), 'jpeg');
      expect(outcome).toMatchObject({ status: 'ok', score: 0.98 });
      if (outcome.status === 'ok') expect(outcome.evidence?.[0]).toMatch(new RegExp(`ContentProducer ${producer}.*XMP "TC260:AIGC"`));
    }
  });
});

describe('hostile input', () => {
  it('bounds a zTXt bomb and carries on with the other chunks', async () => {
    const bomb = deflateSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 });
    const bytes = png(zTXtRaw('parameters', bomb), tEXt('Software', 'NovelAI'));
    const report = await inspectProvenance(bytes, 'png');
    expect(report.notes.join('\n')).toMatch(/zTXt "parameters" skipped: inflates to more than/);
    expect(report.markers.some((m) => m.detail.includes('NovelAI'))).toBe(true);
  });

  it('keeps what came before a truncated chunk and notes the truncation', async () => {
    const full = png(tEXt('parameters', A1111));
    const cut = Buffer.concat([full.subarray(0, full.indexOf('IDAT') - 4), pngChunk('tEXt', 'Comment\0hello').subarray(0, 10)]);
    const report = await inspectProvenance(cut, 'png');
    expect(report.notes.join('\n')).toMatch(/truncated "tEXt" chunk/);
    expect(await detect(cut, 'png')).toMatchObject({ status: 'ok' });
    const cutText = Buffer.concat([png().subarray(0, 33), tEXt('parameters', A1111).subarray(0, 40)]);
    expect(await detect(cutText, 'png')).toMatchObject({ status: 'abstain' });
  });

  it('refuses deeply nested JUMBF without recursing into it', async () => {
    for (const bytes of [png(pngChunk('caBX', nestedJumbf(200))), jpeg(jpegSegment(0xeb, Buffer.concat([Buffer.from([0x4a, 0x50, 0, 1, 0, 0, 0, 1]), nestedJumbf(40)])))]) {
      const format = bytes[0] === 0xff ? 'jpeg' : 'png';
      const report = await inspectProvenance(bytes, format);
      expect(report.c2pa).toMatchObject({ present: true, readable: false, validity: 'invalid' });
      expect(report.notes.join('\n')).toMatch(/JUMBF nesting deeper than 16/);
      const outcome = await detect(bytes, format);
      expect(outcome).toMatchObject({ status: 'abstain', code: 'provenance_inconclusive' });
    }
  });

  it('still reads an AI source type out of a manifest store it cannot parse, and nothing else', async () => {
    const claim = (code: string) => JSON.stringify({ digitalSourceType: `http://cv.iptc.org/newscodes/digitalsourcetype/${code}` });
    const ai = await detect(png(pngChunk('caBX', nestedJumbf(40, claim('trainedAlgorithmicMedia')))), 'png');
    expect(ai).toMatchObject({ status: 'ok', score: 0.9 });
    if (ai.status === 'ok') expect(ai.evidence?.[0]).toMatch(/C2PA manifest unreadable.*trainedAlgorithmicMedia — unverified/);
    const capture = await detect(png(pngChunk('caBX', nestedJumbf(40, claim('digitalCapture')))), 'png');
    expect(capture).toMatchObject({ status: 'abstain', code: 'provenance_inconclusive' });
  });

  it('survives garbage in every container without throwing', async () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) & 0xff);
    const bases: [Buffer, 'png' | 'jpeg' | 'webp'][] = [
      [png(tEXt('parameters', A1111), pngChunk('caBX', nestedJumbf(3))), 'png'],
      [jpeg(xmpSegment(dstXmp('trainedAlgorithmicMedia')), exifSegment(exifTiff({ 0x0131: 'x' }, userCommentUnicode('hi')))), 'jpeg'],
      [webp({ type: 'XMP ', data: Buffer.from(dstXmp('digitalCapture')) }, { type: 'C2PA', data: nestedJumbf(2) }), 'webp'],
    ];
    for (const [base, format] of bases) {
      for (let i = 0; i < 60; i++) {
        const bytes = Buffer.from(base);
        for (let k = 0; k < 1 + (i % 8); k++) bytes[(random() << 8 | random()) % bytes.length] = random();
        const outcome = await detect(i % 10 === 9 ? bytes.subarray(0, random() % bytes.length) : bytes, format);
        expect(['ok', 'abstain']).toContain(outcome.status);
      }
    }
    expect(await detect(Buffer.alloc(0), 'png')).toMatchObject({ status: 'abstain', code: 'no_provenance' });
  });

  it('throws only GenguardError, e.g. when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await detector.detect(imageInput(png(), 'png'), { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GenguardError);
    expect((error as GenguardError).code).toBe('timeout');
  });

  it('rejects a negative weight at construction', () => {
    expect(() => new ProvenanceDetector({ weight: -1 })).toThrow(GenguardError);
    expect(new ProvenanceDetector({ id: 'meta', weight: 2 })).toMatchObject({ id: 'meta', weight: 2 });
  });
});
