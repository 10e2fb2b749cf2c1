/**
 * Reproduces the README's accuracy table: runs `genguard eval --json` on each dev-eval set of
 * ../shared/datasets (normalized and as-received forms) and on the pooled normalized sets, then
 * prints a Markdown table. `npm run eval:dev [-- --datasets DIR] [-- --models a,b]`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { arg } from './lib/cli-args.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const datasets = path.resolve(arg(args, '--datasets') ?? path.join(root, '../shared/datasets'));
const models = arg(args, '--models');
const SETS = ['e2-ai-or-not-game', 'e4-declan-wright', 'e5-ml72-playground'];

interface Report {
  counts: { real: number; ai: number; scored: number; errors: number };
  roc_auc: number;
  at_0_5: { balanced_accuracy: number };
  at_0_7: { balanced_accuracy: number; tpr: number; fpr: number };
  tpr_at_5pct_fpr: number;
  per_model: Record<string, { auc: number; n: number }>;
  latency: { mean_ms: number; p95_ms: number };
}

async function evaluate(real: string[], ai: string[]): Promise<Report> {
  const cli = [path.join(root, 'bin/genguard.js'), 'eval', '--json', ...real.flatMap((d) => ['--real', d]), ...ai.flatMap((d) => ['--ai', d])];
  if (models) cli.push('--models', models);
  const { stdout } = await run(process.execPath, cli, { cwd: root, maxBuffer: 64 * 2 ** 20 });
  return JSON.parse(stdout) as Report;
}

const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const rows: string[] = [];
const modelIds = new Set<string>();
const results: Array<[string, string, Report]> = [];
for (const form of ['normalized', 'as-received']) {
  for (const set of SETS) {
    const base = path.join(datasets, 'dev-eval', set, form);
    if (!existsSync(base)) continue;
    const r = await evaluate([path.join(base, 'real')], [path.join(base, 'ai')]);
    results.push([set, form, r]);
    console.error(`${set} ${form}: AUC ${f(r.roc_auc)}`);
  }
}
const pooledDirs = SETS.map((s) => path.join(datasets, 'dev-eval', s, 'normalized'));
const pooled = await evaluate(pooledDirs.map((d) => path.join(d, 'real')), pooledDirs.map((d) => path.join(d, 'ai')));
results.push(['pooled', 'normalized', pooled]);
for (const [, , r] of results) for (const id of Object.keys(r.per_model)) modelIds.add(id);
const ids = [...modelIds].sort();
rows.push(
  `| set | form | real/AI | ROC AUC | bal. acc. @0.5 | bal. acc. @0.7 | TPR/FPR @0.7 | TPR @5% FPR | ${ids.map((i) => `AUC ${i}`).join(' | ')} | mean ms |`,
  `|---|---|---|---|---|---|---|---|${ids.map(() => '---|').join('')}---|`,
);
for (const [set, form, r] of results) {
  rows.push(
    `| ${set} | ${form} | ${r.counts.real}/${r.counts.ai}${r.counts.errors ? ` (${r.counts.errors} err)` : ''} | ${f(r.roc_auc)} | ${f(r.at_0_5.balanced_accuracy)} | ${f(r.at_0_7.balanced_accuracy)} | ${f(r.at_0_7.tpr)}/${f(r.at_0_7.fpr)} | ${f(r.tpr_at_5pct_fpr)} | ${ids.map((i) => (r.per_model[i] ? `${f(r.per_model[i].auc)}` : '–')).join(' | ')} | ${r.latency.mean_ms} |`,
  );
}
console.log(rows.join('\n'));
