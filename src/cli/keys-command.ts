import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import type { Config } from '../config/load-config.js';
import { GenguardError } from '../errors/genguard-error.js';
import { closeRedis, createProducerRedis, waitForReady } from '../queue/redis-connections.js';
import { ApiKeyStore, type ApiKeyInfo } from '../server/api-key-store.js';
import { loadRuntimeConfig, safeUrl } from './wiring.js';

export interface KeysCommandDeps {
  /** Where lines go (tests capture them); default console.log. */
  print?: (line: string) => void;
}

/** `genguard keys create|revoke|list`: API keys of the detection API, stored hashed in Redis. */
export function registerKeysCommand(program: Command, deps: KeysCommandDeps = {}): void {
  const print = deps.print ?? ((line: string) => console.log(line));
  const keys = program.command('keys').description('create, revoke and list API keys of the detection API');
  keys
    .command('create')
    .description('create an API key; the key is printed once, on the last line')
    .requiredOption('--name <name>', 'a label for the key (unique among live keys)')
    .option('--rate-limit <perMinute>', 'requests per minute for this key (default: GENGUARD_API_RATE_LIMIT_PER_MINUTE)')
    .action(async (opts: { name: string; rateLimit?: string }) => {
      const rate = opts.rateLimit === undefined ? undefined : positive(opts.rateLimit, '--rate-limit');
      await withStore(async (store, config) => {
        const { key, info } = await store.create(opts.name, rate === undefined ? {} : { rateLimitPerMinute: rate });
        print(`created API key "${info.name}" (id ${info.id}, ${info.rateLimitPerMinute ?? config.api.ratePerMinute} requests/minute)`);
        print('store it now: genguard keeps only its hash and cannot show it again');
        print(key);
      });
    });
  keys
    .command('revoke')
    .description('revoke a key by id or name (requests with it then get 403)')
    .argument('<idOrName>', 'the key id (from `keys list`) or its name')
    .action(async (idOrName: string) => {
      await withStore(async (store) => {
        const revoked = await store.revoke(idOrName);
        if (!revoked) throw new GenguardError('usage', `no live API key with id or name "${idOrName}" (see genguard keys list)`);
        print(`revoked API key "${revoked.name}" (id ${revoked.id})`);
      });
    });
  keys
    .command('list')
    .description('list keys (never the keys themselves)')
    .option('--json', 'one JSON object per key per line')
    .action(async (opts: { json?: boolean }) => {
      await withStore(async (store, config) => {
        const all = await store.list();
        if (opts.json) {
          for (const k of all) print(JSON.stringify(k));
          return;
        }
        if (all.length === 0) return print('no API keys yet: genguard keys create --name <name>');
        print(['id'.padEnd(12), 'name'.padEnd(24), 'created'.padEnd(20), 'per-minute'.padEnd(14), 'status'].join('  '));
        for (const k of all) print(row(k, config.api.ratePerMinute));
      });
    });
}

function row(k: ApiKeyInfo, defaultRate: number): string {
  const created = new Date(k.createdAt).toISOString().slice(0, 19).replace('T', ' ');
  const status = k.revokedAt === undefined ? 'live' : `revoked ${new Date(k.revokedAt).toISOString().slice(0, 10)}`;
  const rate = k.rateLimitPerMinute === undefined ? `${defaultRate} (default)` : String(k.rateLimitPerMinute);
  return [k.id.padEnd(12), k.name.padEnd(24), created.padEnd(20), rate.padEnd(14), status].join('  ');
}

async function withStore(fn: (store: ApiKeyStore, config: Config) => Promise<void>): Promise<void> {
  const config = loadRuntimeConfig();
  const redis: Redis = createProducerRedis(config.queue.redisUrl);
  try {
    if (!(await waitForReady(redis, 5_000))) {
      throw new GenguardError(
        'queue_unavailable',
        `cannot reach Redis at ${safeUrl(config.queue.redisUrl)}: set REDIS_URL to the Redis genguard uses, or run this beside a running \`genguard start\` (same directory)`,
      );
    }
    await fn(new ApiKeyStore({ redis, prefix: config.queue.prefix }), config);
  } finally {
    await closeRedis(redis);
  }
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new GenguardError('usage', `${flag} must be a whole number ≥ 1, got "${value}"`);
  return n;
}
