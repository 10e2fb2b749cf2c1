import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWorkerCommand } from '../../src/cli/worker-command.js';
import { ScanProducer } from '../../src/queue/scan-producer.js';
import { FetchLoader, ImageServer, RecordingNotifier, ScriptedBackend, scanInput, syntheticImage, uniquePrefix, waitFor } from './helpers/fakes.js';
import { silent } from './helpers/pipeline.js';
import { deletePrefix, freePort, TestRedis } from './helpers/redis-server.js';

const redis = new TestRedis();
const images = new ImageServer();

beforeAll(async () => {
  await Promise.all([redis.start(), images.start()]);
});
afterAll(async () => {
  await Promise.all([redis.destroy(), images.close()]);
});

function program(deps: Parameters<typeof registerWorkerCommand>[1]): Command {
  const p = new Command('genguard').exitOverride();
  registerWorkerCommand(p, deps);
  return p;
}

describe('genguard worker', () => {
  it('runs the configured workers until told to stop, then drains', async () => {
    const prefix = uniquePrefix('cli');
    const metricsPort = await freePort();
    process.env['REDIS_URL'] = redis.url;
    process.env['GENGUARD_QUEUE_PREFIX'] = prefix;
    const notifier = new RecordingNotifier('slack');
    const backend = new ScriptedBackend(0.72);
    const requested: string[] = [];
    let stop: (how: 'drain' | 'force') => void = () => undefined;
    const stopped = new Promise<'drain' | 'force'>((resolve) => (stop = resolve));
    const run = program({
      createBackend: async (_config, request) => {
        requested.push(`${request.lane}/${request.backendId}`);
        return { backend, modelSetVersion: 'cli-test' };
      },
      createNotifiers: () => ({ slack: notifier }),
      createLoader: () => new FetchLoader(),
      logger: silent,
      stopSignal: () => stopped,
    }).parseAsync(['node', 'genguard', 'worker', '--roles', 'detect,notify', '--concurrency', '3', '--metrics-port', String(metricsPort)]);

    const producer = new ScanProducer({
      redisUrl: redis.url,
      prefix,
      defaultBackend: 'local',
      attempts: 2,
      backoffMs: 50,
      retention: { keepCompletedSeconds: 60, keepFailedSeconds: 60 },
    });
    await producer.enqueue(
      scanInput('cli-1', images.add('/cli.png', await syntheticImage(50)), {
        platform: 'slack',
        reply: { kind: 'thread', channelId: 'C1', threadId: '1712345678.000100' },
      }),
    );
    await waitFor(() => notifier.alerts('cli-1').length === 1, 15_000, 'reply and alert');
    expect(notifier.replies('cli-1')).toHaveLength(1);
    expect(requested).toEqual(['detect/local']);
    const health = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    expect(health.status).toBe(200);

    stop('drain');
    await run;
    await expect(fetch(`http://127.0.0.1:${metricsPort}/healthz`)).rejects.toThrow();
    await producer.close();
    const client = redis.client();
    await deletePrefix(client, prefix);
    client.disconnect();
  });

  it('rejects unknown roles', async () => {
    const run = program({ logger: silent, createLoader: () => new FetchLoader() }).parseAsync([
      'node',
      'genguard',
      'worker',
      '--roles',
      'detect,gpu',
    ]);
    await expect(run).rejects.toMatchObject({ code: 'usage' });
  });
});
