/**
 * Soak: many scan jobs through the real queue with the default local models, twice — all new
 * pictures with the cache off, then half reposts with the cache on — reporting throughput,
 * end-to-end latency (enqueue → reply posted), RSS and whether memory stays flat.
 *
 *   npm run bench -- --only soak [--jobs 10000] [--repost 0.5] [--inflight 4] [--phases off,repost]
 *                    [--redis-url redis://…] [--json soak.json]
 *
 * Starts its own redis-server (no persistence) unless --redis-url is given. Uses production queue
 * settings (GENGUARD_* from the environment) and whatever models/manifest.json enables (or
 * GENGUARD_MODELS). Memory is flat when RSS after the last fifth of the jobs is within 10 % of RSS
 * after the first fifth (2 000 of 10 000). See docs/reliability.md for results.
 */
import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../src/config/load-config.js';
import { createLocalEnsemble } from '../src/detector/create-local-ensemble.js';
import { benchRedis } from './lib/bench-redis.js';
import { arg } from './lib/cli-args.js';
import { prepareSoakImages } from './soak/soak-images.js';
import { runPhase, type PhaseResult } from './soak/soak-phase.js';

export async function run(args: string[]): Promise<void> {
  const config = loadConfig(process.env);
  const jobs = Number(arg(args, '--jobs') ?? process.env['GENGUARD_SOAK_JOBS'] ?? 10_000);
  const repost = Number(arg(args, '--repost') ?? 0.5);
  const inflight = Number(arg(args, '--inflight') ?? 2 * config.queue.concurrency.detect);
  const phases = (arg(args, '--phases') ?? 'off,repost').split(',');
  const jsonPath = arg(args, '--json');
  const log = (line: string) => console.log(line);

  const redis = await benchRedis(arg(args, '--redis-url'));
  const redisUrl = redis.url;
  const ensemble = await createLocalEnsemble(config, { warm: true });
  console.log(`soak: ${jobs} jobs per phase, models ${ensemble.memberIds.join(', ')}, detect concurrency ${config.queue.concurrency.detect}, ${inflight} in flight, ORT threads ${config.env.GENGUARD_ORT_THREADS || 'auto'}, ${(await import('node:os')).availableParallelism()} CPUs`);
  const images = await prepareSoakImages(jobs, log);
  console.log(`pictures: ${images.source}, ${Math.round(images.bytesOnDisk / 1048576)} MiB on disk`);
  const results: PhaseResult[] = [];
  try {
    const common = { jobs, inflight, images, redisUrl, config, backend: ensemble, modelSetVersion: ensemble.version, log };
    // Each phase's numbers are printed (and written) as soon as it ends, so a cut-short run keeps them.
    const finished = async (r: PhaseResult) => {
      results.push(r);
      console.log(`[soak] ${JSON.stringify(r)}`);
      if (jsonPath) await writeFile(jsonPath, JSON.stringify({ jobs, inflight, models: ensemble.memberIds, results }, null, 2));
    };
    if (phases.includes('off')) await finished(await runPhase({ ...common, name: 'cache-off', repostShare: 0, cache: false }));
    if (phases.includes('repost')) await finished(await runPhase({ ...common, name: `reposts-${Math.round(repost * 100)}pc-cache-on`, repostShare: repost, cache: true }));
  } finally {
    await images.close();
    await ensemble.close();
    await redis.close();
  }
  const maxRssMiB = Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
  console.log('\n## soak');
  console.table(
    results.map((r) => ({
      phase: r.name,
      jobs: r.jobs,
      'jobs/s': r.jobsPerSecond,
      'p50 ms': r.latencyMs.p50,
      'p95 ms': r.latencyMs.p95,
      'p99 ms': r.latencyMs.p99,
      'RSS first/last window MiB': `${r.rssMiB.afterFirstWindow} / ${r.rssMiB.afterLastWindow}`,
      growth: `${(r.rssGrowth * 100).toFixed(1)} %`,
      flat: Math.abs(r.rssGrowth) <= 0.1 ? 'yes' : 'NO',
      'peak RSS MiB': r.rssMiB.peakSampled,
    })),
  );
  for (const r of results) console.log(`${r.name}: outcomes ${JSON.stringify(r.outcomes)}, ${r.picturesUsed} distinct pictures, window ${r.window} jobs, Redis used ${r.redisUsedMiB.start} → ${r.redisUsedMiB.end} MiB`);
  console.log(`process max RSS ${maxRssMiB} MiB`);
  if (jsonPath) await writeFile(jsonPath, JSON.stringify({ jobs, inflight, models: ensemble.memberIds, maxRssMiB, results }, null, 2));
}

// `node --import tsx bench/soak.bench.ts …` runs it directly as well as through bench/run.ts.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run(process.argv.slice(2));
}
