import type { Command } from 'commander';
import type { Logger } from 'pino';
import { loadConfig, type Config } from '../config/load-config.js';
import { GenguardError } from '../errors/genguard-error.js';
import { ImageLoader } from '../intake/image-loader.js';
import { MetricsServer } from '../queue/metrics-server.js';
import { QueueMetrics } from '../queue/queue-metrics.js';
import { MemoBackendProvider } from '../queue/worker-deps.js';
import { WorkerRuntime } from '../queue/worker-runtime.js';
import { startApi } from '../server/create-api.js';
import { onPath, PrivateRedis } from './private-redis.js';
import { defaultCreateBackend } from './worker-command.js';
import {
  createLogger,
  discordConfigured,
  packageVersion,
  slackConfigured,
  startAdapters,
  stopSignal,
  withRedisUrl,
  workerPlatformParts,
  type Adapters,
} from './wiring.js';

export const START_PARTS = ['adapters', 'worker', 'api'] as const;
type Part = (typeof START_PARTS)[number];

export const NO_REDIS_MESSAGE =
  'genguard start needs Redis and found neither REDIS_URL nor a redis-server program on the PATH. Either:\n' +
  '  - install Redis and run genguard start again: it then starts a private Redis with its data in GENGUARD_DATA_DIR (./data)\n' +
  '      Debian/Ubuntu: sudo apt-get install redis-server    macOS: brew install redis\n' +
  '  - or point REDIS_URL at a Redis (in .env or the environment), e.g. REDIS_URL=redis://127.0.0.1:6379\n' +
  '      docker run -d --name redis -p 127.0.0.1:6379:6379 redis:7-alpine redis-server --appendonly yes\n' +
  '  - or run everything with docker compose up -d (see docs/operating.md)';

export interface StartCommandDeps {
  /** Resolves when the process should stop; default: SIGTERM or SIGINT. */
  stop?: () => Promise<unknown>;
  /** Whether a program is on the PATH (tests). */
  onPath?: (binary: string) => boolean;
}

/**
 * `genguard start`: everything in one process — the chat adapters for whichever tokens are set,
 * the workers (all lanes, notify, API) and the HTTP API — plus a private Redis when REDIS_URL is
 * not set. `--parts` runs a subset (docker-compose's `bot` service runs `--parts adapters`).
 */
export function registerStartCommand(program: Command, deps: StartCommandDeps = {}): void {
  program
    .command('start')
    .description('run everything in one process: chat adapters, workers, the HTTP API (and a private Redis without REDIS_URL)')
    .option('--parts <list>', `comma-separated subset of ${START_PARTS.join(', ')}`, START_PARTS.join(','))
    .action(async (opts: { parts: string }) => {
      const parts = parseParts(opts.parts);
      let config = loadConfig();
      const logger = createLogger(config);
      const closers: Array<() => Promise<unknown>> = [];
      try {
        if (!process.env['REDIS_URL']) {
          if (!(deps.onPath ?? onPath)('redis-server')) throw new GenguardError('config_invalid', NO_REDIS_MESSAGE);
          const redis = await PrivateRedis.start({ dataDir: config.api.dataDir, logger });
          closers.push(() => redis.stop());
          config = withRedisUrl(config, redis.url);
        }
        const running = await startParts(config, parts, logger, closers);
        logger.info({ parts: running, version: packageVersion() }, `genguard started: ${running.join(', ')}`);
        await (deps.stop ?? stopSignal)();
        logger.info('genguard stopping: finishing the work in flight');
      } finally {
        for (const close of closers.reverse()) await close().catch((error: unknown) => logger.error({ err: error }, 'error while stopping'));
      }
    });
}

async function startParts(config: Config, parts: Set<Part>, logger: Logger, closers: Array<() => Promise<unknown>>): Promise<string[]> {
  const running: string[] = [];
  let adapters: Adapters | undefined;
  if (parts.has('adapters')) {
    const which = { discord: discordConfigured(config), slack: slackConfigured(config) };
    if (which.discord || which.slack) {
      adapters = await startAdapters(config, logger, which);
      closers.push(() => adapters!.stop());
      running.push(...(which.discord ? ['discord'] : []), ...(which.slack ? ['slack'] : []));
    } else if (parts.size === 1) {
      throw new GenguardError('config_invalid', 'no chat platform is configured: set DISCORD_TOKEN and/or SLACK_BOT_TOKEN (see docs/operating.md)');
    } else {
      logger.warn('no DISCORD_TOKEN or Slack token set: no chat adapter runs, only the workers and the HTTP API');
    }
  }
  let runtime: WorkerRuntime | undefined;
  if (parts.has('worker')) {
    const loader = new ImageLoader({ limits: config.intake });
    const backends = new MemoBackendProvider({
      create: (request) => defaultCreateBackend(config, request),
      defaultBackend: config.env.GENGUARD_BACKEND,
      modelTimeoutsMs: config.queue.timeouts.modelMs,
    });
    closers.push(() => loader.close(), () => backends.close());
    // A missing model or remote credential stops start-up here, not on every job later.
    await backends.get('detect');
    const platform = adapters ? { notifiers: adapters.notifiers, ...(adapters.credentials ? { credentials: adapters.credentials } : {}) } : await workerPlatformParts(config, logger);
    runtime = new WorkerRuntime({
      queue: config.queue,
      backends,
      loader,
      notifiers: platform.notifiers,
      ...(platform.credentials ? { credentials: platform.credentials } : {}),
      defaultAlertThreshold: config.bands.ai,
      maxPixels: config.intake.maxPixels,
      logger,
      metrics: new QueueMetrics({ defaultMetrics: true }),
    });
    closers.push(() => runtime!.close());
    await runtime.start();
    running.push(`workers (${runtime.roles.join(', ')})`);
  }
  if (adapters && !runtime && config.queue.metrics.port > 0) {
    // Without workers nothing else serves /health and /metrics for this process's healthcheck.
    const health = adapters;
    const { port, host } = config.queue.metrics;
    const server = new MetricsServer({ metrics: new QueueMetrics({ defaultMetrics: true }), port, host, health: () => health.healthy() });
    logger.info({ port: await server.listen() }, 'health and metrics server listening');
    closers.push(() => server.close());
  }
  if (parts.has('api') && config.api.port > 0) {
    const worker = runtime;
    const api = await startApi(config, {
      metrics: worker?.metrics ?? new QueueMetrics({ defaultMetrics: true }),
      logger,
      ...(worker ? { healthy: () => worker.healthy() } : {}),
      version: packageVersion(),
    });
    closers.push(() => api.close());
    running.push(`API on port ${api.port}`);
  }
  if (running.length === 0) throw new GenguardError('config_invalid', `nothing to run with --parts ${[...parts].join(',')}`);
  return running;
}

export function parseParts(list: string): Set<Part> {
  const parts = list.split(',').map((p) => p.trim()).filter(Boolean);
  const unknown = parts.filter((p) => !(START_PARTS as readonly string[]).includes(p));
  if (parts.length === 0 || unknown.length > 0) throw new GenguardError('usage', `--parts takes ${START_PARTS.join(', ')}; got "${list}"`);
  return new Set(parts as Part[]);
}
