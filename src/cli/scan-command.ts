import type { Command } from 'commander';
import { Option } from 'commander';
import { loadConfig } from '../config/load-config.js';
import type { BackendId, DetectionBackend } from '../detector/backend.js';
import { createBackend } from '../detector/create-backend.js';
import type { DetectionResult } from '../detector/result.js';
import { GenguardError, toGenguardError } from '../errors/genguard-error.js';
import { ImageLoader } from '../intake/image-loader.js';
import { collectInputs, type CollectedInput } from './collect-inputs.js';
import { formatScanRow, scanTableHeader } from './scan-table.js';

export interface ScanOutcome {
  input: CollectedInput;
  result?: DetectionResult;
  error?: GenguardError;
}

export const backendOption = () =>
  new Option('--backend <backend>', 'detection backend (default: GENGUARD_BACKEND or local)').choices([
    'local',
    'bitmind',
    'bijou',
    'cascade',
  ]);

export const modelsOption = () =>
  new Option('--models <ids>', 'comma-separated model ids to run (default: the enabled ones in the manifest)');

/**
 * Scans inputs one after another, loading the next image while the current one is detected.
 * A bad input becomes an outcome with an error; it never stops the run.
 */
export async function* scanAll(
  inputs: CollectedInput[],
  loader: ImageLoader,
  backend: DetectionBackend,
): AsyncGenerator<ScanOutcome> {
  const load = (i: number) => {
    const input = inputs[i];
    if (!input) return undefined;
    const p = loader.load(input.source);
    p.catch(() => undefined); // handled when awaited below; avoids an unhandled-rejection warning
    return p;
  };
  let next = load(0);
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i]!;
    const current = next;
    next = load(i + 1);
    try {
      const image = await current!;
      yield { input, result: await backend.detect(image) };
    } catch (error) {
      yield { input, error: toGenguardError(error) };
    }
  }
}

export function registerScanCommand(program: Command): void {
  program
    .command('scan')
    .description('check images (files, directories, URLs) for signs of AI generation')
    .argument('<inputs...>', 'image files, directories (recursive) or http(s) URLs')
    .option('--json', 'one JSON object per input per line')
    .addOption(backendOption())
    .addOption(modelsOption())
    .action(async (args: string[], opts: { json?: boolean; backend?: BackendId; models?: string }) => {
      const config = loadConfig();
      const { inputs, skipped } = await collectInputs(args);
      if (skipped.length > 0 && !opts.json) console.error(`skipped ${skipped.length} non-image file(s) in directories`);
      const only = opts.models?.split(',').map((s) => s.trim()).filter(Boolean);
      const backend = await createBackend(config, opts.backend ?? config.env.GENGUARD_BACKEND, { local: { warm: true, ...(only ? { only } : {}) } });
      const loader = new ImageLoader({ limits: config.intake });
      let failures = 0;
      try {
        if (!opts.json) console.log(scanTableHeader());
        for await (const outcome of scanAll(inputs, loader, backend)) {
          if (outcome.error) failures++;
          console.log(opts.json ? JSON.stringify(toJsonLine(outcome)) : formatScanRow(outcome));
        }
      } finally {
        await loader.close();
        await backend.close();
      }
      if (!opts.json && inputs.length > 1) {
        console.error(`${inputs.length} input(s), ${failures} error(s)`);
      }
    });
}

export function toJsonLine(outcome: ScanOutcome): Record<string, unknown> {
  if (outcome.error) {
    return { file: outcome.input.file, error: { code: outcome.error.code, message: outcome.error.message } };
  }
  return { file: outcome.input.file, ...outcome.result };
}
