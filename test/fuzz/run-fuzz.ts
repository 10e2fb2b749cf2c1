/**
 * The long fuzz run: `npm run fuzz -- --count 5000 [--seed N] [--start I] [--json out.json]`
 * (or `node --import tsx test/fuzz/run-fuzz.ts …`). Same cases and oracle as
 * test/hardening/fuzz.test.ts, with a per-recipe outcome table and the memory report.
 * Exits 1 when any defect was found. Honors GENGUARD_MODELS / GENGUARD_ORT_THREADS.
 */
import { writeFile } from 'node:fs/promises';
import { loadConfig } from '../../src/config/load-config.js';
import { createLocalEnsemble } from '../../src/detector/create-local-ensemble.js';
import { ImageLoader } from '../../src/intake/image-loader.js';
import { createFuzzCorpus, DEFAULT_FUZZ_SEED } from './fuzz-cases.js';
import { runFuzz, summarise } from './fuzz-runner.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const count = Number(arg('--count') ?? process.env['GENGUARD_FUZZ_COUNT'] ?? 5_000);
const seed = Number(arg('--seed') ?? process.env['GENGUARD_FUZZ_SEED'] ?? DEFAULT_FUZZ_SEED);
const start = Number(arg('--start') ?? 0);
const jsonPath = arg('--json');

const config = loadConfig({ GENGUARD_MODELS: process.env['GENGUARD_MODELS'], GENGUARD_ORT_THREADS: process.env['GENGUARD_ORT_THREADS'] });
const loader = new ImageLoader({ limits: config.intake });
const ensemble = await createLocalEnsemble(config, { warm: true });
const corpus = await createFuzzCorpus(seed);
console.log(`fuzz: ${count} cases from #${start}, seed ${seed}, members ${ensemble.memberIds.join(', ')}, limits ${config.intake.maxBytes} bytes / ${config.intake.maxPixels} px`);

/** recipe (or seed file) → outcome → count. */
const byFamily = new Map<string, Map<string, number>>();
let done = 0;
const report = await runFuzz(corpus, { loader, ensemble }, {
  count,
  start,
  onCase: (c, outcome) => {
    const family = c.name.split('+')[0]!;
    const row = byFamily.get(family) ?? new Map<string, number>();
    row.set(outcome, (row.get(outcome) ?? 0) + 1);
    byFamily.set(family, row);
    if (++done % 500 === 0) console.log(`  ${done}/${count} (rss ${Math.round(process.memoryUsage().rss / 1048576)} MiB)`);
  },
});
console.log(summarise(report));
console.log('\noutcomes by starting file / recipe:');
for (const [family, row] of [...byFamily].sort()) {
  console.log(`  ${family.padEnd(40)} ${[...row].sort((a, b) => b[1] - a[1]).map(([o, n]) => `${o} ${n}`).join(', ')}`);
}
if (jsonPath) {
  const table = Object.fromEntries([...byFamily].map(([f, row]) => [f, Object.fromEntries(row)]));
  await writeFile(jsonPath, JSON.stringify({ seed, start, count, members: ensemble.memberIds, report, byFamily: table }, null, 2));
}
await loader.close();
await ensemble.close();
process.exit(report.defects.length > 0 ? 1 : 0);
