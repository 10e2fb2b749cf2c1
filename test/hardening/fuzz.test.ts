import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { createLocalEnsemble } from '../../src/detector/create-local-ensemble.js';
import type { LocalEnsemble } from '../../src/detector/local-ensemble.js';
import { ImageLoader } from '../../src/intake/image-loader.js';
import { createFuzzCorpus, fuzzSettings, type FuzzCorpus } from '../fuzz/fuzz-cases.js';
import { runFuzz, summarise } from '../fuzz/fuzz-runner.js';

/**
 * Hostile images through intake, the provenance reader and the full local ensemble (whatever
 * models/manifest.json enables). GENGUARD_FUZZ_COUNT (default 300) and GENGUARD_FUZZ_SEED pick the
 * cases; `npm run fuzz -- --count 5000` runs the long version with a memory report.
 */

const { count, seed } = fuzzSettings();
/** Peak RSS allowed for the test process (MiB); the 40 MP decode at the pixel cap dominates it. */
const MAX_RSS_MIB = Number(process.env['GENGUARD_FUZZ_MAX_RSS_MIB'] ?? 1_536);

let corpus: FuzzCorpus;
let loader: ImageLoader;
let ensemble: LocalEnsemble;

beforeAll(async () => {
  // Production limits (10 MB, 40 MP): the bound measured is the one a deployment gets.
  const config = loadConfig({ GENGUARD_MODELS: process.env['GENGUARD_MODELS'], GENGUARD_ORT_THREADS: process.env['GENGUARD_ORT_THREADS'] });
  loader = new ImageLoader({ limits: config.intake });
  ensemble = await createLocalEnsemble(config, { warm: true });
  corpus = await createFuzzCorpus(seed);
}, 60_000);
afterAll(async () => {
  await loader?.close();
  await ensemble?.close();
});

describe(`fuzz: ${count} hostile inputs (seed ${seed})`, () => {
  it('every input ends in a result or a typed error: no crash, no hang, no swallowed runtime error, bounded memory', { timeout: Math.max(120_000, count * 1_000) }, async () => {
    const report = await runFuzz(corpus, { loader, ensemble }, { count });
    const text = summarise(report);
    console.log(`[fuzz] members: ${ensemble.memberIds.join(', ')}\n${text}`);
    expect(report.defects, text).toEqual([]);
    expect(report.cases).toBe(count);
    // The oracle means something only if both ends were reached.
    expect(report.results).toBeGreaterThan(count / 10);
    expect(Object.keys(report.refused.intake).length).toBeGreaterThan(2);
    expect(report.rss.maxRssMiB, text).toBeLessThan(MAX_RSS_MIB);
  });

  it('is reproducible: the same seed and index give the same bytes', async () => {
    const again = await createFuzzCorpus(seed);
    for (const index of [0, 7, count - 1]) expect(again.make(index).bytes.equals(corpus.make(index).bytes)).toBe(true);
    expect((await createFuzzCorpus(seed + 1)).make(3).bytes.equals(corpus.make(3).bytes)).toBe(false);
  });
});
