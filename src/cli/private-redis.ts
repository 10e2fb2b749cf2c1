import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { GenguardError } from '../errors/genguard-error.js';

/** File in the data directory that holds the running private Redis's URL (mode 600), for `keys` and `config check`. */
export const REDIS_URL_FILE = 'redis.url';

export interface PrivateRedisOptions {
  /** GENGUARD_DATA_DIR: the append-only file, the generated redis.conf and redis.url live here. */
  dataDir: string;
  logger: Logger;
  binary?: string;
  /** How long to wait for Redis to load its data and answer. */
  readyTimeoutMs?: number;
}

/**
 * The Redis that `genguard start` runs for itself when no REDIS_URL is set: a `redis-server`
 * child with append-only persistence under the data directory, bound to 127.0.0.1 on a free port
 * and protected by a fresh random password (kept in a mode-600 config file, not on the command
 * line where `ps` would show it).
 *
 * It is started through `sh` in its own process group, with a pipe as its lifeline: `stop()`
 * closes the pipe, and so does the kernel if genguard dies, even by SIGKILL; either way `sh`
 * sends Redis SIGTERM, and Redis flushes the append-only file before exiting. Its own process
 * group keeps a terminal's Ctrl-C away from it, so Redis outlives the workers' drain.
 */
export class PrivateRedis {
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #urlFile: string;
  #stopped: Promise<void> | undefined;

  private constructor(url: string, child: ChildProcess, urlFile: string) {
    this.url = url;
    this.#child = child;
    this.#urlFile = urlFile;
  }

  static async start(options: PrivateRedisOptions): Promise<PrivateRedis> {
    const binary = options.binary ?? 'redis-server';
    const dataDir = path.resolve(options.dataDir);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const urlFile = path.join(dataDir, REDIS_URL_FILE);
    const running = readRunningUrl(dataDir);
    if (running && (await answers(running))) {
      throw new GenguardError('config_invalid', `another genguard already runs a private Redis in ${dataDir}; stop it, or set REDIS_URL to share it`);
    }
    const password = randomBytes(24).toString('hex');
    const port = await freePort();
    const confFile = path.join(dataDir, 'redis.conf');
    const conf = [
      `port ${port}`,
      'bind 127.0.0.1',
      'protected-mode yes',
      `requirepass ${password}`,
      `dir ${JSON.stringify(dataDir)}`,
      'appendonly yes',
      'appendfsync everysec',
      'daemonize no',
      'loglevel warning',
    ].join('\n');
    await writeFile(confFile, `${conf}\n`, { mode: 0o600 });
    await chmod(confFile, 0o600);
    const child = spawn('sh', ['-c', '"$0" "$1" & pid=$!; read _ignored; kill -TERM "$pid" 2>/dev/null; wait "$pid"', binary, confFile], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    // Redis logs (warnings only) to stdout; the tail explains a failed start.
    let output = '';
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-2000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', () => undefined);
    const url = `redis://:${password}@127.0.0.1:${port}`;
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
    for (;;) {
      const gone = await Promise.race([exited, sleep(150).then(() => undefined)]);
      if (gone !== undefined || child.exitCode !== null) {
        throw new GenguardError('config_invalid', `the private redis-server exited at start: ${output.trim() || 'no output'}`);
      }
      if (await answers(url)) break;
      if (Date.now() > deadline) {
        child.stdin?.end();
        throw new GenguardError('timeout', `the private redis-server did not answer within ${options.readyTimeoutMs ?? 60_000} ms`);
      }
    }
    await writeFile(urlFile, `${url}\n`, { mode: 0o600 });
    options.logger.info(
      { redis: `redis://127.0.0.1:${port}`, dataDir, appendonly: true },
      `no REDIS_URL set: started a private Redis on 127.0.0.1:${port} with its data in ${dataDir} (stopped with genguard)`,
    );
    return new PrivateRedis(url, child, urlFile);
  }

  /** Closes the lifeline and waits for Redis to flush and exit (SIGKILL after 15 s). */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      await rm(this.#urlFile, { force: true });
      const child = this.#child;
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin?.end();
      const timer = setTimeout(() => {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 15_000);
      await exited;
      clearTimeout(timer);
    })();
    return this.#stopped;
  }
}

/** The URL a running `genguard start` left in the data directory, if any. */
export function readRunningUrl(dataDir: string): string | undefined {
  try {
    const url = readFileSync(path.join(path.resolve(dataDir), REDIS_URL_FILE), 'utf8').trim();
    return url || undefined;
  } catch {
    return undefined;
  }
}

/** Whether `binary` is an executable on the PATH (or a path to one). */
export function onPath(binary: string, envPath = process.env['PATH'] ?? ''): boolean {
  const candidates = binary.includes('/') ? [binary] : envPath.split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, binary));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 1_000, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}
