import type { Command } from 'commander';
import { QueueMetrics } from '../queue/queue-metrics.js';
import { startApi } from '../server/create-api.js';
import { createLogger, loadRuntimeConfig, packageVersion, parsePort, safeUrl, stopSignal } from './wiring.js';

/**
 * `genguard serve`: the self-hosted detection API alone. Requests are queued on the `api` lane,
 * so at least one `genguard worker` (or `genguard start`) must run against the same Redis.
 */
export function registerServeCommand(program: Command, deps: { stop?: () => Promise<unknown> } = {}): void {
  program
    .command('serve')
    .description('run the HTTP detection API (BitMind- and Bijou-compatible); workers do the detection')
    .option('--port <port>', 'port to listen on (default: GENGUARD_API_PORT or 8080)')
    .action(async (opts: { port?: string }) => {
      const config = loadRuntimeConfig();
      const logger = createLogger(config, 'genguard-api');
      const port = opts.port === undefined ? config.api.port : parsePort(opts.port, '--port');
      logger.info({ redis: safeUrl(config.queue.redisUrl) }, 'starting the detection API');
      const api = await startApi(config, { metrics: new QueueMetrics({ defaultMetrics: true }), logger, port, version: packageVersion() });
      await (deps.stop ?? stopSignal)();
      logger.info('stopping the detection API (requests in flight finish first)');
      await api.close();
    });
}
