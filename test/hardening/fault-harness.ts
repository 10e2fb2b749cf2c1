import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { ImageServer } from '../queue/helpers/fakes.js';
import { TestRedis } from '../queue/helpers/redis-server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** One call the notifier made to the "platform" (see fault-worker.ts). */
export interface Post {
  scanId: string;
  step: 'reply' | 'alert';
  kind: 'result' | 'error';
  key: string;
  pid: number;
  attempt: number;
}

/**
 * The world of the kill tests: a Redis with an append-only file (so a restart keeps the jobs), an
 * image server, a sink standing in for Discord that records every post and answers after 0–150 ms
 * (the window in which a kill leaves a post unrecorded in the notify ledger), and worker processes
 * (fault-worker.ts) that can be SIGKILLed.
 */
export class FaultHarness {
  readonly redis = new TestRedis({ persistent: true });
  readonly images = new ImageServer();
  readonly posts: Post[] = [];
  /** Worker processes that printed "ready" (only those are worth killing: a kill during start-up tests nothing). */
  readonly ready = new WeakSet<ChildProcess>();
  /** Workers that exited without being SIGKILLed by the test: each is a defect (with its stderr). */
  readonly crashed: string[] = [];
  readonly #children: ChildProcess[] = [];
  #sink: Server | undefined;
  #sinkUrl = '';

  async start(): Promise<void> {
    await Promise.all([this.redis.start(), this.images.start()]);
    const posts = this.posts;
    this.#sink = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        posts.push(JSON.parse(body) as Post);
        setTimeout(() => res.writeHead(204).end(), Math.floor(Math.random() * 150));
      });
    });
    await new Promise<void>((resolve) => this.#sink!.listen(0, '127.0.0.1', resolve));
    this.#sinkUrl = `http://127.0.0.1:${(this.#sink.address() as AddressInfo).port}`;
  }

  spawnWorker(prefix: string): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/hardening/fault-worker.ts'], {
      cwd: root,
      env: { ...process.env, REDIS_URL: this.redis.url, PREFIX: prefix, SINK_URL: this.#sinkUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#children.push(child);
    child.stdout?.on('data', (c: Buffer) => c.toString().includes('ready') && this.ready.add(child));
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2_000)));
    child.once('exit', (code, signal) => {
      if (signal !== 'SIGKILL') this.crashed.push(`pid ${child.pid} exited ${code ?? signal}: ${stderr}`);
    });
    return child;
  }

  killAll(): void {
    for (const c of this.#children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }

  async close(): Promise<void> {
    this.killAll();
    this.#sink?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#sink ? this.#sink.close(() => resolve()) : resolve()));
    await Promise.all([this.redis.destroy(), this.images.close()]);
  }
}

/** A tiny PNG unique to `n` (distinct bytes: the in-flight dedupe must not merge two scans). */
export function pngFor(n: number): Promise<Buffer> {
  const data = Buffer.alloc(16 * 16 * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + n * 97 + ((n * i) >> 3)) & 0xff;
  return sharp(data, { raw: { width: 16, height: 16, channels: 3 } }).png().toBuffer();
}
