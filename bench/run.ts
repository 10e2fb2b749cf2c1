/**
 * `npm run bench [-- --only <suite>[,<suite>]] [-- --method <id>]`: runs the benchmark suites in bench/*.bench.ts.
 * Each suite exports `run(args: string[]): Promise<void>` and prints its own medians/p95.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? (args[onlyIdx + 1] ?? '').split(',').filter(Boolean) : [];

const files = (await readdir(here)).filter((f) => f.endsWith('.bench.ts')).sort();
for (const file of files) {
  const suite = file.replace(/\.bench\.ts$/, '');
  if (only.length > 0 && !only.includes(suite)) continue;
  console.log(`\n# ${suite}`);
  const mod = (await import(pathToFileURL(path.join(here, file)).href)) as { run: (a: string[]) => Promise<void> };
  await mod.run(args);
}
