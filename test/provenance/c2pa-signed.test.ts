import { beforeAll, describe, expect, it } from 'vitest';
import { inspectProvenance, ProvenanceDetector } from '../../src/detector/provenance/provenance-detector.js';
import { makeSigner, signedJpeg, tamperPixels, type TestSigner } from './c2pa-sign.js';
import { imageInput } from './craft.js';

const iptc = (code: string) => `http://cv.iptc.org/newscodes/digitalsourcetype/${code}`;
const detector = new ProvenanceDetector();
const detect = (bytes: Buffer) => detector.detect(imageInput(bytes, 'jpeg'), {});

describe('C2PA manifests signed here', () => {
  let camera: TestSigner;
  let expired: TestSigner;
  beforeAll(async () => {
    camera = await makeSigner({ organisation: 'Test Camera Maker' });
    expired = await makeSigner({ organisation: 'Test Camera Maker', expired: true });
  });

  it('gives a validated digitalCapture claim a low score and says it is no proof', async () => {
    const bytes = await signedJpeg(camera, iptc('digitalCapture'), 'Test Camera 1.0');
    const report = await inspectProvenance(bytes, 'jpeg');
    expect(report.c2pa).toMatchObject({ validity: 'valid', hashBinding: 'match', signer: 'O=Test Camera Maker, CN=genguard test signer', digitalSourceType: 'digitalCapture' });
    const outcome = await detect(bytes);
    expect(outcome).toMatchObject({ status: 'ok', score: 0.1 });
    if (outcome.status === 'ok') expect(outcome.evidence?.[0]).toMatch(/created by Test Camera 1\.0, digitalSourceType digitalCapture — signature valid.*not that the scene is real/);
  });

  it('does not score a capture claim whose hash binding broke', async () => {
    const bytes = tamperPixels(await signedJpeg(camera, iptc('digitalCapture'), 'Test Camera 1.0'));
    const report = await inspectProvenance(bytes, 'jpeg');
    expect(report.c2pa).toMatchObject({ validity: 'invalid', hashBinding: 'mismatch' });
    const outcome = await detect(bytes);
    expect(outcome).toMatchObject({ status: 'abstain', code: 'provenance_inconclusive' });
    if (outcome.status === 'abstain') expect(outcome.reason).toMatch(/signature INVALID \(assertion\.dataHash\.mismatch\).*capture claim is not trusted/);
  });

  it('does not score a capture claim signed with an expired certificate and no timestamp', async () => {
    const bytes = await signedJpeg(expired, iptc('digitalCapture'), 'Test Camera 1.0');
    const report = await inspectProvenance(bytes, 'jpeg');
    expect(report.c2pa.validity).toBe('unverified');
    expect(report.c2pa.failures).toContain('signingCredential.expired');
    expect(await detect(bytes)).toMatchObject({ status: 'abstain', code: 'provenance_inconclusive' });
  });

  it('flags a validated trainedAlgorithmicMedia claim at 0.99 and a tampered one a little lower', async () => {
    const bytes = await signedJpeg(camera, iptc('trainedAlgorithmicMedia'), 'Some Image Model');
    const valid = await detect(bytes);
    expect(valid).toMatchObject({ status: 'ok', score: 0.99 });
    if (valid.status === 'ok') expect(valid.evidence?.[0]).toMatch(/C2PA: created by Some Image Model, digitalSourceType trainedAlgorithmicMedia — signature valid/);
    const tampered = await detect(tamperPixels(bytes));
    expect(tampered).toMatchObject({ status: 'ok', score: 0.95 });
    if (tampered.status === 'ok') expect(tampered.evidence?.[0]).toMatch(/signature INVALID/);
  });

  it('names a generator in the software agent even without a source type', async () => {
    const bytes = await signedJpeg(camera, 'http://c2pa.org/digitalsourcetype/empty', 'Adobe Firefly');
    const outcome = await detect(bytes);
    expect(outcome).toMatchObject({ status: 'ok', score: 0.9 });
    if (outcome.status === 'ok') expect(outcome.evidence?.[0]).toMatch(/made with Adobe Firefly/);
  });
});
