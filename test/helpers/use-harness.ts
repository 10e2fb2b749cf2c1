import { afterAll, afterEach, beforeAll } from 'vitest';
import { TestRedis } from '../queue/helpers/redis-server.js';

export interface HarnessHooks<H, O> {
  /** The test file's own Redis server (started before its first test); for tests that open their own connection. */
  readonly redis: TestRedis;
  /** Starts this test's harness (`options` over the file's defaults); it is closed after the test. */
  start(options?: Partial<O>): Promise<H>;
}

/**
 * Registers the hooks every end-to-end file needs: one Redis server for the file, and at most one
 * harness per test, closed after it even when the test fails (so its prefix, sockets and workers
 * never leak into the next test). `open` starts a harness on that Redis.
 */
export function useHarness<H extends { close(): Promise<void> }, O>(open: (redis: TestRedis, options: Partial<O>) => Promise<H>): HarnessHooks<H, O> {
  const redis = new TestRedis();
  let current: H | undefined;
  beforeAll(async () => {
    await redis.start();
  });
  afterAll(async () => {
    await redis.destroy();
  });
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return {
    redis,
    async start(options = {}) {
      current = await open(redis, options);
      return current;
    },
  };
}
