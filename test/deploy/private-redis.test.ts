import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPath, PrivateRedis, readRunningUrl } from '../../src/cli/private-redis.js';
import { REPO } from './helpers/cli-process.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'genguard-private-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Sends one raw command without authenticating and returns the first reply line. */
function withoutPassword(url: string, command: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`${command}\r\n`));
    socket.once('data', (data) => {
      resolve(data.toString().split('\r\n')[0]!);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
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

describe('PrivateRedis (genguard start without REDIS_URL)', () => {
  it('persists data across restarts, wants its password, refuses a second instance, and stops', async () => {
    const dataDir = path.join(dir, 'a');
    const logger = pino({ level: 'silent' });
    const first = await PrivateRedis.start({ dataDir, logger });
    expect(readRunningUrl(dataDir)).toBe(first.url);
    const client = new Redis(first.url);
    await client.set('genguard:test', 'kept');
    client.disconnect();
    expect(await withoutPassword(first.url, 'GET genguard:test')).toMatch(/^-NOAUTH/);
    await expect(PrivateRedis.start({ dataDir, logger })).rejects.toThrow(/already runs a private Redis/);
    await first.stop();
    expect(await answers(first.url)).toBe(false);
    expect(readRunningUrl(dataDir)).toBeUndefined();

    const second = await PrivateRedis.start({ dataDir, logger });
    const again = new Redis(second.url);
    expect(await again.get('genguard:test')).toBe('kept');
    again.disconnect();
    await second.stop();
  });

  it('goes down with its parent even when the parent is killed with SIGKILL', async () => {
    const dataDir = path.join(dir, 'b');
    const tsx = pathToFileURL(path.join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
    const child = spawn(process.execPath, ['--import', tsx, path.join(REPO, 'test/deploy/private-redis-child.ts')], {
      env: { PATH: process.env['PATH'] ?? '', DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
    });
    expect(await answers(url)).toBe(true);
    child.kill('SIGKILL');
    let up = true;
    for (let i = 0; i < 50 && up; i++) {
      await sleep(100);
      up = await answers(url);
    }
    expect(up).toBe(false);
    expect((await stat(path.join(dataDir, 'appendonlydir'))).isDirectory()).toBe(true);
  });

  it('finds programs on the PATH', () => {
    expect(onPath('redis-server')).toBe(true);
    expect(onPath('redis-server', '/nonexistent')).toBe(false);
    expect(onPath('definitely-not-a-genguard-binary')).toBe(false);
  });
});
