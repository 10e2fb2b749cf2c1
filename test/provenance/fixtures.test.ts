import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JPEG, PNG } from '@trustnxt/c2pa-ts/asset';
import { describe, expect, it } from 'vitest';
import { readJpegMetadata } from '../../src/detector/provenance/jpeg-segments.js';
import { readPngMetadata } from '../../src/detector/provenance/png-chunks.js';
import { inspectProvenance, ProvenanceDetector } from '../../src/detector/provenance/provenance-detector.js';
import { decideOutcome } from '../../src/detector/provenance/provenance-verdict.js';
import { sniffFormat } from '../../src/detector/provenance/read-container.js';
import { imageInput } from './craft.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = join(repoRoot, '../shared/datasets/fixtures/provenance');

type Row = Record<string, string>;
const [header, ...lines] = readFileSync(join(fixtures, 'labels.tsv'), 'utf8').trimEnd().split('\n');
const columns = (header ?? '').split('\t');
const rows: Row[] = lines.map((line) => Object.fromEntries(line.split('\t').map((v, i) => [columns[i] ?? `col${i}`, v])));

/** What the evidence must name for each generator family in the `generator` column. */
function expectedEvidence(generator: string): RegExp {
  for (const name of ['ComfyUI', 'AUTOMATIC1111', 'Fooocus', 'InvokeAI', 'NovelAI']) if (generator.includes(name)) return new RegExp(name);
  if (generator.includes('GPT-4o')) return /C2PA: created by GPT-4o, digitalSourceType trainedAlgorithmicMedia/;
  throw new Error(`no expectation for generator ${generator}`);
}

const detector = new ProvenanceDetector();

describe('provenance fixtures (labels.tsv)', () => {
  it('covers every fixture file', () => {
    expect(rows.length).toBe(27);
  });

  for (const row of rows) {
    const path = row['path'] ?? '';
    it(`${path} (${row['label']})`, async () => {
      const bytes = readFileSync(join(fixtures, path));
      const format = sniffFormat(bytes, 'jpeg');
      // detect() is inspectProvenance + decideOutcome; calling them apart validates C2PA once.
      const report = await inspectProvenance(bytes, format);
      const outcome = decideOutcome(report);

      if (row['label'] === 'ai') {
        expect(outcome.status).toBe('ok');
        if (outcome.status !== 'ok') return;
        expect(outcome.score).toBeGreaterThanOrEqual(0.7);
        expect(outcome.evidence?.join('\n')).toMatch(expectedEvidence(row['generator'] ?? ''));
      } else {
        // A real photo is never flagged, whatever its metadata says.
        if (outcome.status === 'ok') expect(outcome.score).toBeLessThan(0.4);
      }

      const c2pa = report.c2pa;
      expect(c2pa.present).toBe(row['c2pa'] === 'yes');
      const expected = row['c2pa_expected'] ?? '';
      if (expected.startsWith('valid')) expect(c2pa.validity).toBe('valid');
      if (expected.startsWith('ERROR')) {
        expect(c2pa.validity).toBe('invalid');
        expect(c2pa.failures).toContain(expected.includes('hard-binding') ? 'assertion.dataHash.mismatch' : 'claimSignature.mismatch');
        // Invalid: reported, and never a low ("real") score.
        expect(outcome.status).toBe('abstain');
        if (outcome.status === 'abstain') expect(outcome.reason).toMatch(/signature INVALID/);
      }
      if (row['c2pa_signer']) expect(c2pa.signer).toBe(row['c2pa_signer'].split(' (issuing CA')[0]);
      if (row['c2pa_claim_generator']) {
        const declared = row['c2pa_claim_generator'];
        if (declared.startsWith('make_test')) expect(c2pa.claimGenerator).toBe(declared);
        else expect(c2pa.claimGenerator).toContain(declared.split(' ')[0]);
      }
      if (row['c2pa_actions']) {
        expect(c2pa.actions.map((a) => a.replace(/^c2pa\./, '')).sort()).toEqual(row['c2pa_actions'].split(',').sort());
      }
      if (row['iptc_dst']) expect(c2pa.digitalSourceType).toBe(row['iptc_dst'].split(' ')[0]);
      for (const key of (row['png_text_keys'] ?? '').split(',').filter(Boolean)) {
        if (key.startsWith('[')) expect(report.sources).toContain(`PNG ${key.slice(1, -1)}`);
        else expect(report.textKeys).toContain(key);
      }
    });
  }

  it('scores the Truepic camera capture low, with a valid signature, and says why', async () => {
    const bytes = readFileSync(join(fixtures, 'c2pa/truepic-20230212-camera.jpg'));
    const outcome = await detector.detect(imageInput(bytes, 'jpeg'), {});
    expect(outcome).toMatchObject({ status: 'ok' });
    if (outcome.status !== 'ok') return;
    expect(outcome.score).toBeLessThanOrEqual(0.2);
    expect(outcome.evidence?.[0]).toMatch(/camera capture.*Pixel 5.*signature valid/);
  });

  it('does not call the Adobe test-certificate photos AI and names the test certificate', async () => {
    for (const name of ['C', 'CA', 'CACA', 'CAI', 'CAICA', 'CICA']) {
      const report = await inspectProvenance(readFileSync(join(fixtures, `c2pa/adobe-20220124-${name}.jpg`)), 'jpeg');
      expect(report.c2pa.testCertificate).toBe(true);
      const outcome = decideOutcome(report);
      expect(outcome).toMatchObject({ status: 'abstain', code: 'provenance_inconclusive' });
      if (outcome.status === 'abstain') expect(outcome.reason).toMatch(/signature valid.*C2PA test certificate.*neither AI generation nor a camera capture/);
    }
  });

  it('abstains with no_provenance on the plain JPEG', async () => {
    const bytes = readFileSync(join(fixtures, 'c2pa/adobe-20220124-A.jpg'));
    expect(await detector.detect(imageInput(bytes, 'jpeg'), {})).toMatchObject({ status: 'abstain', code: 'no_provenance' });
  });

  it('reports the OpenAI manifest as AI even though its certificate has since expired', async () => {
    const bytes = readFileSync(join(fixtures, 'openai-c2pa/case76-example_anime_nostalgic_poster.png'));
    const report = await inspectProvenance(bytes, 'png');
    expect(report.c2pa.hashBinding).toBe('match');
    expect(report.c2pa.softwareAgents).toContain('GPT-4o');
    // The certificate expired on 2026-01-13 and there is no timestamp: before that date the
    // manifest validates, after it the signature still checks out but is `unverified`.
    expect(['valid', 'unverified']).toContain(report.c2pa.validity);
    const ai = report.markers.find((m) => m.kind === 'c2pa' && m.indicates === 'ai');
    expect(ai?.score).toBeGreaterThanOrEqual(0.95);
  });

  it('reassembles the same JUMBF as c2pa-ts from JPEG APP11 segments and PNG caBX', () => {
    for (const row of rows.filter((r) => r['c2pa'] === 'yes')) {
      const bytes = readFileSync(join(fixtures, row['path'] ?? ''));
      const ours = JPEG.canRead(bytes) ? readJpegMetadata(bytes).jumbf : readPngMetadata(bytes).jumbf;
      const theirs = JPEG.canRead(bytes) ? new JPEG(bytes).getManifestJUMBF() : new PNG(bytes).getManifestJUMBF();
      expect(ours && Buffer.from(ours).equals(Buffer.from(theirs ?? []))).toBe(true);
    }
  });
});
