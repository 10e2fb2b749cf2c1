import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadConfig } from '../config/load-config.js';
import type { BackendId } from '../detector/backend.js';
import { createBackend } from '../detector/create-backend.js';
import { ImageLoader } from '../intake/image-loader.js';
import { collectInputs, type CollectedInput } from './collect-inputs.js';
import { buildEvalReport, formatEvalReport, type LabelledOutcome } from './eval-report.js';
import { ProgressBar } from './progress-bar.js';
import { backendOption, modelsOption, scanAll } from './scan-command.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description('measure accuracy on your own labelled images: folders of real photos and of AI-generated images')
    .requiredOption('--real <dir>', 'folder of real images (repeatable)', collect)
    .requiredOption('--ai <dir>', 'folder of AI-generated images (repeatable)', collect)
    .option('--json', 'print the report as one JSON object')
    .option('--scores <file>', 'also write every file\'s scores as TSV')
    .addOption(backendOption())
    .addOption(modelsOption())
    .action(
      async (opts: { real: string[]; ai: string[]; json?: boolean; scores?: string; backend?: BackendId; models?: string }) => {
        const config = loadConfig();
        const real = (await collectInputs(opts.real)).inputs;
        const ai = (await collectInputs(opts.ai)).inputs;
        const labels = new Map<CollectedInput, 0 | 1>([...real.map((i) => [i, 0] as const), ...ai.map((i) => [i, 1] as const)]);
        const inputs = [...real, ...ai];
        const only = opts.models?.split(',').map((s) => s.trim()).filter(Boolean);
        const backend = await createBackend(config, opts.backend ?? config.env.GENGUARD_BACKEND, { local: { warm: true, ...(only ? { only } : {}) } });
        const loader = new ImageLoader({ limits: config.intake });
        const bar = new ProgressBar(inputs.length, process.stderr);
        const outcomes: LabelledOutcome[] = [];
        try {
          for await (const outcome of scanAll(inputs, loader, backend)) {
            outcomes.push({ ...outcome, label: labels.get(outcome.input)! });
            bar.tick(outcome.input.file);
          }
        } finally {
          bar.done();
          await loader.close();
          await backend.close();
        }
        const report = buildEvalReport(outcomes, config.bands);
        if (opts.scores) await writeFile(opts.scores, scoresTsv(outcomes));
        console.log(opts.json ? JSON.stringify(report) : formatEvalReport(report));
      },
    );
}

function scoresTsv(outcomes: LabelledOutcome[]): string {
  const models = [...new Set(outcomes.flatMap((o) => Object.keys(o.result?.model_results ?? {})))].sort();
  const rows = outcomes.map((o) =>
    [
      o.input.file,
      o.label === 1 ? 'ai' : 'real',
      o.result?.ensemble_score ?? '',
      ...models.map((m) => o.result?.model_results[m]?.score ?? ''),
      o.result?.detection_latency_ms ?? '',
      o.error?.code ?? '',
    ].join('\t'),
  );
  return [['file', 'label', 'score', ...models, 'latency_ms', 'error'].join('\t'), ...rows].join('\n') + '\n';
}
