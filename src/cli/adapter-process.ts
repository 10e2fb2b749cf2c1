import { GenguardError } from '../errors/genguard-error.js';
import { MetricsServer } from '../queue/metrics-server.js';
import { QueueMetrics } from '../queue/queue-metrics.js';
import { createLogger, discordConfigured, loadRuntimeConfig, slackConfigured, startAdapters, stopSignal } from './wiring.js';

/**
 * One adapter process (`genguard discord`, `genguard slack`): the bot, plus `/health` and
 * `/metrics` on GENGUARD_METRICS_PORT for container healthchecks. Runs until SIGTERM/SIGINT.
 */
export async function runAdapterProcess(which: { discord: boolean; slack: boolean }, stop: () => Promise<unknown> = stopSignal): Promise<void> {
  const config = loadRuntimeConfig();
  if (which.discord && !discordConfigured(config)) {
    throw new GenguardError('config_invalid', 'DISCORD_TOKEN is not set (developer portal → your application → Bot → Reset Token); see docs/operating.md');
  }
  if (which.slack && !slackConfigured(config)) {
    throw new GenguardError('config_invalid', 'Slack needs SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID/SLACK_CLIENT_SECRET/SLACK_STATE_SECRET (OAuth); see docs/operating.md');
  }
  const logger = createLogger(config, which.discord ? 'genguard-discord' : 'genguard-slack');
  const adapters = await startAdapters(config, logger, which);
  const { port, host } = config.queue.metrics;
  const server = port > 0 ? new MetricsServer({ metrics: new QueueMetrics({ defaultMetrics: true }), port, host, health: () => adapters.healthy() }) : undefined;
  try {
    if (server) logger.info({ port: await server.listen() }, 'health and metrics server listening');
    await stop();
    logger.info('stopping');
  } finally {
    await server?.close();
    await adapters.stop();
  }
}
