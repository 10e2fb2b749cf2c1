import { performance } from 'node:perf_hooks';

export interface Timing {
  name: string;
  runs: number;
  median_ms: number;
  p95_ms: number;
  min_ms: number;
  max_ms: number;
}

export { percentile } from '../../src/cli/percentile.js';
import { percentile } from '../../src/cli/percentile.js';

export function summarise(name: string, samples: number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    name,
    runs: sorted.length,
    median_ms: r(percentile(sorted, 50)),
    p95_ms: r(percentile(sorted, 95)),
    min_ms: r(sorted[0] ?? Number.NaN),
    max_ms: r(sorted[sorted.length - 1] ?? Number.NaN),
  };
}

/** Times `fn` `runs` times after `warmup` untimed calls; the machine is noisy, so report medians. */
export async function measure(
  name: string,
  fn: () => Promise<unknown> | unknown,
  options: { runs?: number; warmup?: number } = {},
): Promise<Timing> {
  const runs = options.runs ?? 20;
  const warmup = options.warmup ?? 3;
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return summarise(name, samples);
}

export function printTimings(title: string, timings: Timing[]): void {
  console.log(`\n## ${title}`);
  console.table(timings.map((t) => ({ ...t })));
}
