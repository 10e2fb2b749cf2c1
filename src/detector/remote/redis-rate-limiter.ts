import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { GenguardError } from '../../errors/genguard-error.js';
import type { RateLimiter } from './rate-limiter.js';

/**
 * Sliding-window log in a sorted set, checked and updated atomically in Lua. Time comes from the
 * Redis server (TIME), so workers with skewed clocks still share one window.
 */
const SCRIPT = `
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, window)
  return 0
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
if wait < 1 then wait = 1 end
return wait
`;

export interface RedisRateLimiterOptions {
  /** Redis key of the window; include the vendor and a hash of the key, never the key itself. */
  key: string;
  limit: number;
  windowMs: number;
}

export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: Pick<Redis, 'eval'>,
    private readonly options: RedisRateLimiterOptions,
  ) {}

  async tryTake(): Promise<number> {
    try {
      const wait = await this.redis.eval(
        SCRIPT,
        1,
        this.options.key,
        String(this.options.limit),
        String(this.options.windowMs),
        randomUUID(),
      );
      return Number(wait);
    } catch (error) {
      throw new GenguardError('queue_unavailable', `rate limiter: Redis call failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}
