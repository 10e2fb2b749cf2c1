import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { matchGeneratorName } from '../../src/detector/provenance/generator-names.js';
import { classifySourceType } from '../../src/detector/provenance/iptc-source-types.js';
import { ProvenanceDetector } from '../../src/detector/provenance/provenance-detector.js';
import { imageInput } from './craft.js';

describe('IPTC digital source type vocabulary', () => {
  const iptc = (code: string) => `http://cv.iptc.org/newscodes/digitalsourcetype/${code}`;

  it('sorts every code into ai, capture or neutral', () => {
    const groups: Record<string, string[]> = {
      ai: ['trainedAlgorithmicMedia', 'compositeWithTrainedAlgorithmicMedia', 'algorithmicMedia', 'compositeSynthetic'],
      capture: ['digitalCapture', 'computationalCapture', 'negativeFilm', 'positiveFilm', 'print', 'minorHumanEdits', 'compositeCapture'],
      neutral: ['humanEdits', 'algorithmicallyEnhanced', 'dataDrivenMedia', 'digitalArt', 'digitalCreation', 'virtualRecording', 'screenCapture', 'softwareImage'],
    };
    for (const [verdict, codes] of Object.entries(groups)) {
      for (const code of codes) expect(classifySourceType(iptc(code)), code).toMatchObject({ code, verdict });
    }
  });

  it('ranks AI codes by how much of the picture is generated', () => {
    const score = (code: string) => classifySourceType(code).score;
    expect(score('trainedAlgorithmicMedia')).toBeGreaterThan(score('compositeWithTrainedAlgorithmicMedia'));
    expect(score('compositeWithTrainedAlgorithmicMedia')).toBeGreaterThan(score('compositeSynthetic'));
    expect(score('compositeSynthetic')).toBeGreaterThanOrEqual(0.7);
  });

  it('accepts https URIs, bare codes, the C2PA 1.x code and its "empty" value', () => {
    expect(classifySourceType(`https://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia`).verdict).toBe('ai');
    expect(classifySourceType('c2pa.trainedAlgorithmicData')).toMatchObject({ verdict: 'ai', code: 'trainedAlgorithmicData' });
    expect(classifySourceType('http://c2pa.org/digitalsourcetype/empty').verdict).toBe('neutral');
    expect(classifySourceType('somethingNew')).toMatchObject({ verdict: 'neutral', label: 'unknown source type' });
  });
});

describe('generator names in tool fields', () => {
  it.each([
    ['Midjourney', 'Midjourney'],
    ['DALL·E 3', 'DALL·E'],
    ['Adobe Firefly', 'Adobe Firefly'],
    ['Stable Diffusion XL', 'Stable Diffusion'],
    ['NovelAI', 'NovelAI'],
    ['ComfyUI', 'ComfyUI'],
    ['Microsoft Bing Image Creator', 'Microsoft Image Creator'],
  ])('%s → %s', (text, name) => {
    expect(matchGeneratorName(text)).toBe(name);
  });

  it.each(['Adobe Photoshop 25.0 (Windows)', 'Adobe Lightroom Classic 13.1', 'GIMP 2.10.34', 'Capture One 23', 'HDR+ 1.0.540104767zd', 'Picasa', 'darktable 4.6.1'])(
    'does not match %s',
    (text) => {
      expect(matchGeneratorName(text)).toBeUndefined();
    },
  );
});

describe('AUTOMATIC1111 stealth pnginfo', () => {
  const params = 'a lighthouse at dusk\nSteps: 25, Sampler: DPM++ 2M, CFG scale: 6, Seed: 99, Model: dreamshaper_8';

  async function stealthPng(withAlpha: boolean): Promise<Buffer> {
    const size = 64;
    const payload = Buffer.from(params, 'utf8');
    const header = Buffer.concat([Buffer.from('stealth_pnginfo', 'latin1'), Buffer.alloc(4)]);
    header.writeUInt32BE(payload.length * 8, 15);
    const message = Buffer.concat([header, payload]);
    const raw = Buffer.alloc(size * size * 4, 200);
    for (let i = 0; i < message.length * 8; i++) {
      const bit = ((message[i >> 3] ?? 0) >> (7 - (i & 7))) & 1;
      // Column-major: bit i sits at x = floor(i / height), y = i % height.
      const x = Math.floor(i / size);
      const y = i % size;
      raw[(y * size + x) * 4 + 3] = 254 | bit;
    }
    const image = sharp(raw, { raw: { width: size, height: size, channels: 4 } });
    return (withAlpha ? image : image.removeAlpha()).png().toBuffer();
  }

  it('finds parameters hidden in the alpha LSBs', async () => {
    const outcome = await new ProvenanceDetector().detect(imageInput(await stealthPng(true), 'png'), {});
    expect(outcome).toMatchObject({ status: 'ok', score: 0.98 });
    if (outcome.status === 'ok') expect(outcome.evidence?.[0]).toMatch(/stealth pnginfo.*\(plain\).*model dreamshaper_8/);
  });

  it('does not look without an alpha channel', async () => {
    const outcome = await new ProvenanceDetector().detect(imageInput(await stealthPng(false), 'png'), {});
    expect(outcome).toMatchObject({ status: 'abstain', code: 'no_provenance' });
  });
});
