/**
 * `npm run bench` runs the everyday suites (detect, queue, remote-clients, api): medians and p95
 * over repeated runs. `npm run bench -- --only <suite>[,<suite>]` picks suites, including the long
 * ones left out by default: `methods` (full-size research architectures, needs Python + torch,
 * minutes per model) and `soak` (10 000 jobs through the queue, tens of minutes).
 * Each suite is bench/<suite>.bench.ts exporting `run(args: string[]): Promise<void>`.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const LONG = new Set(['methods', 'soak']);
const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? (args[onlyIdx + 1] ?? '').split(',').filter(Boolean) : [];

const suites = (await readdir(here))
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .sort();
const unknown = only.filter((s) => !suites.includes(s));
if (unknown.length > 0) {
  console.error(`unknown suite(s) ${unknown.join(', ')}; available: ${suites.join(', ')}`);
  process.exit(2);
}
for (const suite of suites) {
  if (only.length > 0 ? !only.includes(suite) : LONG.has(suite)) continue;
  console.log(`\n# ${suite}`);
  const mod = (await import(pathToFileURL(path.join(here, `${suite}.bench.ts`)).href)) as { run: (a: string[]) => Promise<void> };
  await mod.run(args);
}
