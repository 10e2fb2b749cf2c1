import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildProgram } from '../../src/cli/main.js';
import { parseParts } from '../../src/cli/start-command.js';
import { envSchema } from '../../src/config/schema.js';
import { MetricsServer } from '../../src/queue/metrics-server.js';
import { QueueMetrics } from '../../src/queue/queue-metrics.js';
import { API_ROUTES } from '../../src/server/api-server.js';
import { ScriptedBackend } from '../queue/helpers/fakes.js';
import { freePort, TestRedis } from '../queue/helpers/redis-server.js';
import { ApiTestStack } from '../server/helpers/api-stack.js';
import { REPO } from './helpers/cli-process.js';

/**
 * No Docker engine runs here, so docker-compose.yml and the Dockerfile are checked as data: the
 * services and their commands exist in our CLI, the variables in our schema, and the healthchecks
 * are run for real against our servers.
 */
interface Service {
  image?: string;
  build?: string;
  command?: string[];
  env_file?: string | string[];
  environment?: Record<string, string>;
  restart?: string;
  ports?: string[];
  container_name?: string;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; interval?: string };
}

const compose = parseYaml(readFileSync(path.join(REPO, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const dockerfile = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
const envKeys = new Set(Object.keys(envSchema.shape));
const program = await buildProgram();
const GENGUARD = ['bot', 'worker', 'api'] as const;

function commandOf(name: string): Command | undefined {
  return program.commands.find((c) => c.name() === name);
}

/** The health probe a service runs, executed with `node -e` exactly as written (CMD form). */
function runHealthcheck(service: Service, env: Record<string, string>): Promise<number | null> {
  const [kind, binary, flag, script] = service.healthcheck!.test;
  expect([kind, binary, flag]).toEqual(['CMD', 'node', '-e']);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script!], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: 'ignore' });
    child.once('exit', resolve);
  });
}

/** `process.env.X || default` pairs a probe reads. */
function probeVariables(script: string): Array<{ name: string; fallback: string }> {
  return [...script.matchAll(/process\.env\.([A-Z0-9_]+)\s*\|\|\s*(\d+)/g)].map((m) => ({ name: m[1]!, fallback: m[2]! }));
}

describe('docker-compose.yml', () => {
  it('has redis, bot, worker and api, restarting on failure and reading .env', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'bot', 'redis', 'worker']);
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.restart, name).toMatch(/^(always|unless-stopped|on-failure)/);
      expect(service.healthcheck?.test.length, name).toBeGreaterThan(1);
    }
    for (const name of GENGUARD) {
      const service = compose.services[name]!;
      expect([service.env_file].flat(), name).toContain('.env');
      expect(service.depends_on?.['redis']?.condition, name).toBe('service_healthy');
      expect(service.build ?? service.image, name).toBeTruthy();
    }
  });

  it('runs Redis with persistence on, a volume for its data, and a healthcheck', () => {
    const redis = compose.services['redis']!;
    expect(redis.image).toMatch(/^redis:\d/);
    expect(redis.command?.join(' ')).toContain('--appendonly yes');
    const volume = redis.volumes?.[0]?.split(':');
    expect(volume?.[1]).toBe('/data');
    expect(compose.volumes).toHaveProperty(volume![0]!);
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('starts each service with a command and options our CLI has', () => {
    for (const name of GENGUARD) {
      const [command, ...args] = compose.services[name]!.command!;
      const cli = commandOf(command!);
      expect(cli, `${name}: genguard ${command}`).toBeDefined();
      for (const [i, arg] of args.entries()) {
        if (!arg.startsWith('--')) continue;
        expect(cli!.options.map((o) => o.long), `${name}: ${arg}`).toContain(arg);
        if (arg === '--parts') expect(() => parseParts(args[i + 1]!)).not.toThrow();
      }
    }
    expect(compose.services['bot']!.command).toEqual(['start', '--parts', 'adapters']);
    expect(compose.services['api']!.command).toEqual(['serve']);
  });

  it('sets only variables of the configuration schema', () => {
    for (const name of GENGUARD) {
      for (const key of Object.keys(compose.services[name]!.environment ?? {})) expect(envKeys, `${name}: ${key}`).toContain(key);
    }
    expect(compose.services['worker']!.environment?.['REDIS_URL']).toBe('redis://redis:6379');
  });

  it('keeps the worker scalable: no fixed name, no published port', () => {
    const worker = compose.services['worker']!;
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
  });

  it('publishes the API port that GENGUARD_API_PORT defaults to', () => {
    const defaultPort = String(envSchema.shape.GENGUARD_API_PORT.parse(undefined));
    expect(compose.services['api']!.ports?.map((p) => p.split(':').at(-1))).toContain(defaultPort);
  });

  it('probes only variables of the schema, with their real defaults, on real unauthenticated endpoints', () => {
    const publicPaths = new Set<string>([...API_ROUTES.filter((r) => r.method === 'GET').map((r) => r.path), '/healthz']);
    for (const name of GENGUARD) {
      const script = compose.services[name]!.healthcheck!.test[3]!;
      const vars = probeVariables(script);
      expect(vars, name).toHaveLength(1);
      const { name: variable, fallback } = vars[0]!;
      expect(envKeys, `${name}: ${variable}`).toContain(variable);
      const schema = envSchema.shape[variable as keyof typeof envSchema.shape];
      expect(String(schema.parse(undefined)), `${name}: default of ${variable}`).toBe(fallback);
      const route = /\/[a-z]+'\)/.exec(script)?.[0]?.slice(0, -2);
      expect(publicPaths, `${name}: ${route}`).toContain(route);
    }
  });
});

describe('compose healthchecks, run against the real servers', () => {
  const redis = new TestRedis();
  let api: ApiTestStack;
  let metrics: MetricsServer;
  let metricsPort: number;
  let healthy = true;

  beforeAll(async () => {
    await redis.start();
    api = await new ApiTestStack({ redisUrl: redis.url, backend: new ScriptedBackend(0.5) }).start();
    metricsPort = await freePort();
    metrics = new MetricsServer({ metrics: new QueueMetrics(), port: metricsPort, host: '127.0.0.1', health: async () => healthy });
    await metrics.listen();
  });
  afterAll(async () => {
    await metrics.close();
    await api.close();
    await redis.destroy();
  });

  it('the api probe passes against `genguard serve` and fails on a closed port', async () => {
    expect(await runHealthcheck(compose.services['api']!, { GENGUARD_API_PORT: String(api.api.port) })).toBe(0);
    expect(await runHealthcheck(compose.services['api']!, { GENGUARD_API_PORT: String(await freePort()) })).toBe(1);
  });

  it('the worker and bot probes pass against a worker\'s metrics server, and fail when it reports unhealthy', async () => {
    for (const name of ['worker', 'bot'] as const) {
      healthy = true;
      expect(await runHealthcheck(compose.services[name]!, { GENGUARD_METRICS_PORT: String(metricsPort) }), name).toBe(0);
      healthy = false;
      expect(await runHealthcheck(compose.services[name]!, { GENGUARD_METRICS_PORT: String(metricsPort) }), name).toBe(1);
    }
  });
});

describe('Dockerfile', () => {
  const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)].map((m) => ({ image: m[1]!, name: m[2] }));
  const finalStart = dockerfile.lastIndexOf('\nFROM ');
  const final = dockerfile.slice(finalStart);

  it('is multi-stage: a build stage with dev dependencies, a runtime stage with production ones', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = dockerfile.slice(0, finalStart);
    expect(build).toMatch(/RUN npm ci(?! --omit=dev)/);
    expect(final).toMatch(/RUN npm ci --omit=dev/);
    // `npm ci` would run `prepare` (tsc, a dev tool) in the final stage; it must not.
    expect(final).toMatch(/npm ci --omit=dev[^\n]*--ignore-scripts/);
    const buildStage = stages[0]!.name!;
    expect(final).toContain(`COPY --from=${buildStage} /app/dist ./dist`);
  });

  it('runs as a non-root user, bakes the models in and verifies them, and starts our CLI', () => {
    const user = /^USER\s+(\S+)/m.exec(final)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(final).toMatch(/^COPY models \.\/models/m);
    expect(final).toContain('bin/genguard.js models verify');
    expect(final).toContain('ENTRYPOINT ["node", "bin/genguard.js"]');
    const cmd = JSON.parse(/^CMD\s+(\[.*\])/m.exec(final)![1]!) as string[];
    expect(commandOf(cmd[0]!)).toBeDefined();
    expect(/^EXPOSE\s+(.*)$/m.exec(final)?.[1]?.split(/\s+/)).toContain('8080');
  });

  it('copies only files that exist, and leaves secrets and local state out of the context', () => {
    for (const m of dockerfile.matchAll(/^COPY\s+(?!--from)(.+)\s+\S+$/gm)) {
      for (const source of m[1]!.trim().split(/\s+/)) expect(existsSync(path.join(REPO, source)), source).toBe(true);
    }
    const ignored = readFileSync(path.join(REPO, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', 'data', '.env', '.git']) expect(ignored).toContain(entry);
    expect(ignored).not.toContain('models');
    const env = /^ENV\s+([\s\S]*?)\n(?!\s)/m.exec(final)?.[1] ?? '';
    for (const m of env.matchAll(/([A-Z][A-Z0-9_]+)=/g)) if (m[1] !== 'NODE_ENV') expect(envKeys).toContain(m[1]);
  });
});
