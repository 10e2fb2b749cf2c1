import { Option, type Command } from 'commander';
import { pino, type Logger } from 'pino';
import { loadConfig, type Config } from '../config/load-config.js';
import { createBackend } from '../detector/create-backend.js';
import { selectModels } from '../detector/create-local-ensemble.js';
import { loadManifest, type Manifest } from '../detector/manifest.js';
import { GenguardError } from '../errors/genguard-error.js';
import { ImageLoader } from '../intake/image-loader.js';
import type { NotifierSet } from '../queue/notifier.js';
import { LANES } from '../queue/queue-layout.js';
import {
  MemoBackendProvider,
  type BackendLease,
  type BackendRequest,
  type CredentialsResolver,
  type ImageSourceLoader,
} from '../queue/worker-deps.js';
import { WorkerRuntime, type WorkerRole } from '../queue/worker-runtime.js';

/** What `genguard worker` needs from the rest of the app; every field has a default. */
export interface WorkerCommandDeps {
  /** Builds a lane's backend; default: createBackend, with the manifest's slow models added on the slow lane. */
  createBackend?: (config: Config, request: BackendRequest) => Promise<BackendLease>;
  /** Platform notifiers; default none, so results are only logged. */
  createNotifiers?: (config: Config, logger: Logger) => Promise<NotifierSet> | NotifierSet;
  /** Resolves media credential references (Slack bot tokens); default none. */
  createCredentials?: (config: Config, logger: Logger) => Promise<CredentialsResolver | undefined> | CredentialsResolver | undefined;
  /** Image fetching; default intake's ImageLoader with the configured limits. */
  createLoader?: (config: Config) => ImageSourceLoader & { close?(): Promise<void> };
  logger?: Logger;
  /** Resolves when the worker should stop; default: SIGTERM or SIGINT (a second one forces). */
  stopSignal?: () => Promise<'drain' | 'force'>;
}

interface WorkerOptions {
  concurrency?: string;
  roles?: string;
  metricsPort?: string;
}

export function registerWorkerCommand(program: Command, deps: WorkerCommandDeps = {}): void {
  program
    .command('worker')
    .description('run queue workers: detection lanes, replies and alerts, Prometheus metrics')
    .option('--concurrency <n>', 'detection jobs at once per lane (default: GENGUARD_WORKER_CONCURRENCY or 2)')
    .addOption(
      new Option('--roles <list>', `queues to serve, comma-separated from ${[...LANES, 'notify', 'api'].join(', ')} (default: all; slow only when GENGUARD_SLOW_CONCURRENCY > 0, api when GENGUARD_API_CONCURRENCY > 0)`),
    )
    .option('--metrics-port <port>', 'port of /metrics and /healthz, 0 for none (default: GENGUARD_METRICS_PORT or 9464)')
    .action(async (opts: WorkerOptions) => {
      const config = withOverrides(loadConfig(), opts);
      const logger = deps.logger ?? pino({ level: config.env.LOG_LEVEL });
      const loader = deps.createLoader?.(config) ?? new ImageLoader({ limits: config.intake });
      const create = deps.createBackend ?? defaultCreateBackend;
      const backends = new MemoBackendProvider({
        create: (request) => create(config, request),
        defaultBackend: config.env.GENGUARD_BACKEND,
        modelTimeoutsMs: config.queue.timeouts.modelMs,
      });
      const credentials = await deps.createCredentials?.(config, logger);
      const runtime = new WorkerRuntime({
        queue: config.queue,
        ...(opts.roles ? { roles: parseRoles(opts.roles) } : {}),
        backends,
        loader,
        ...(credentials ? { credentials } : {}),
        notifiers: (await deps.createNotifiers?.(config, logger)) ?? {},
        defaultAlertThreshold: config.bands.ai,
        maxPixels: config.intake.maxPixels,
        logger,
      });
      try {
        await runtime.start();
        const how = await (deps.stopSignal ?? processSignals)();
        await runtime.close(how === 'force');
      } finally {
        await runtime.close();
        await backends.close();
        await loader.close?.();
      }
    });
}

function withOverrides(config: Config, opts: WorkerOptions): Config {
  const q = structuredClone(config.queue);
  if (opts.concurrency !== undefined) q.concurrency.detect = positiveInt(opts.concurrency, '--concurrency', 1);
  if (opts.metricsPort !== undefined) q.metrics.port = positiveInt(opts.metricsPort, '--metrics-port', 0);
  return { ...config, queue: q };
}

function positiveInt(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new GenguardError('usage', `${flag} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

function parseRoles(list: string): WorkerRole[] {
  const known: readonly string[] = [...LANES, 'notify', 'api'];
  const roles = list.split(',').map((r) => r.trim()).filter(Boolean);
  const unknown = roles.filter((r) => !known.includes(r));
  if (roles.length === 0 || unknown.length > 0) {
    throw new GenguardError('usage', `--roles takes ${known.join(', ')}; got "${list}"`);
  }
  return roles as WorkerRole[];
}

/** First SIGTERM/SIGINT: drain. A second one while draining: stop without waiting. */
function processSignals(): Promise<'drain' | 'force'> {
  return new Promise((resolve) => {
    let draining = false;
    const onSignal = () => {
      if (draining) {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        process.exit(1);
      }
      draining = true;
      resolve('drain');
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/**
 * The main lanes run the configured set; the slow lane runs it plus the manifest's slow members
 * (with GENGUARD_MODEL_TIMEOUTS overriding their manifest timeouts). The model-set version that
 * keys the cache names the manifest version, the backend, and the exact members.
 */
export async function defaultCreateBackend(config: Config, request: BackendRequest): Promise<BackendLease> {
  const loaded = await loadManifest(config.manifestPath);
  const manifest: Manifest = {
    ...loaded,
    models: loaded.models.map((m) => {
      const timeoutMs = request.modelTimeoutsMs[m.id];
      return timeoutMs === undefined ? m : { ...m, timeoutMs };
    }),
  };
  const base = selectModels(manifest, config.env.GENGUARD_MODELS);
  const members = request.lane === 'slow' ? [...base, ...manifest.models.filter((m) => m.enabled && m.slow && !base.includes(m))] : base;
  const only = members.map((m) => m.id);
  const backend = await createBackend(config, request.backendId, { local: { only, manifest } });
  const local = request.backendId === 'local' || request.backendId === 'cascade';
  const version = (backend as { version?: unknown }).version;
  const modelSetVersion = [
    backend.id,
    manifest.version,
    local ? (typeof version === 'string' ? version : only.join(',')) : 'remote',
  ].join('+');
  return { backend, modelSetVersion };
}
