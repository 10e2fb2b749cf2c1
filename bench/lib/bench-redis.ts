import { TestRedis } from '../../test/queue/helpers/redis-server.js';

export interface BenchRedis {
  url: string;
  /** Stops the server this bench started; a Redis given by URL is left alone. */
  close(): Promise<void>;
}

/**
 * The Redis a bench runs on: the one at `url` when given (--redis-url), otherwise a throw-away
 * redis-server without persistence, so a bench never touches a deployment's data by default.
 */
export async function benchRedis(url?: string): Promise<BenchRedis> {
  if (url) return { url, close: async () => undefined };
  const server = new TestRedis();
  await server.start();
  return { url: server.url, close: () => server.destroy() };
}
