import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DetectionResult } from '../detector/result.js';

/** Something whose job counts can be read at scrape time (a BullMQ Queue). */
export interface CountableQueue {
  readonly name: string;
  getJobCounts(...states: string[]): Promise<Record<string, number>>;
}

const STATES = ['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed', 'paused'];

export type CacheOutcome = 'exact' | 'perceptual' | 'inflight' | 'miss' | 'off';

/**
 * Worker metrics in Prometheus text format. One registry per WorkerRuntime (not prom-client's
 * global one), so several runtimes in one process (tests, benches) do not collide.
 *
 * Cache hit rate: `sum(rate(genguard_cache_lookups_total{outcome!="miss",outcome!="off"}[5m]))
 * / sum(rate(genguard_cache_lookups_total{outcome!="off"}[5m]))`.
 */
export class QueueMetrics {
  readonly registry: Registry;
  readonly #queues: CountableQueue[] = [];
  readonly jobsFinished: Counter<'queue' | 'outcome'>;
  readonly detectionSeconds: Histogram<'model'>;
  readonly cacheLookups: Counter<'outcome'>;
  readonly remoteErrors: Counter<'backend' | 'code'>;
  readonly modelFailures: Counter<'model' | 'code'>;
  readonly notifications: Counter<'platform' | 'step' | 'outcome'>;

  constructor(options: { registry?: Registry; defaultMetrics?: boolean } = {}) {
    this.registry = options.registry ?? new Registry();
    const registers = [this.registry];
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'genguard_' });
    const queues = this.#queues;
    new Gauge({
      name: 'genguard_queue_jobs',
      help: 'Jobs per queue and state, read from Redis at scrape time',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        this.reset();
        const counts = await Promise.all(queues.map(async (q) => [q.name, await q.getJobCounts(...STATES)] as const));
        for (const [queue, byState] of counts) {
          for (const state of STATES) this.set({ queue, state }, byState[state] ?? 0);
        }
      },
    });
    this.jobsFinished = new Counter({
      name: 'genguard_jobs_finished_total',
      help: 'Job attempts finished by this process: completed, retried (failed, will retry) or failed (for good)',
      labelNames: ['queue', 'outcome'],
      registers,
    });
    this.detectionSeconds = new Histogram({
      name: 'genguard_detection_seconds',
      help: 'Detection latency per model (model results) and per backend ("backend:<id>", whole run)',
      labelNames: ['model'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180],
      registers,
    });
    this.cacheLookups = new Counter({
      name: 'genguard_cache_lookups_total',
      help: 'Result lookups before running models: exact / perceptual / inflight hits, miss, or off (cache disabled)',
      labelNames: ['outcome'],
      registers,
    });
    this.remoteErrors = new Counter({
      name: 'genguard_remote_api_errors_total',
      help: 'Errors thrown by remote detection backends, by backend and genguard error code',
      labelNames: ['backend', 'code'],
      registers,
    });
    this.modelFailures = new Counter({
      name: 'genguard_model_failures_total',
      help: 'Ensemble members that failed on an image (model_notes), by model and code',
      labelNames: ['model', 'code'],
      registers,
    });
    this.notifications = new Counter({
      name: 'genguard_notifications_total',
      help: 'Notify steps by platform, step (reply, alert) and outcome (posted, skipped_duplicate, failed)',
      labelNames: ['platform', 'step', 'outcome'],
      registers,
    });
  }

  /** Adds queues whose job counts are exported (`genguard_queue_jobs`). */
  watch(queue: CountableQueue): void {
    if (!this.#queues.includes(queue)) this.#queues.push(queue);
  }

  observeDetection(backendId: string, result: DetectionResult): void {
    this.detectionSeconds.observe({ model: `backend:${backendId}` }, result.detection_latency_ms / 1000);
    for (const [model, r] of Object.entries(result.model_results)) {
      this.detectionSeconds.observe({ model }, r.latency_ms / 1000);
    }
    for (const [model, note] of Object.entries(result.model_notes ?? {})) {
      if (note.status === 'failed') this.modelFailures.inc({ model, code: note.code });
    }
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
