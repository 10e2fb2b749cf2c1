import type { Redis } from 'ioredis';

/**
 * ARGV[1] '1': write ARGV[3] only if the key holds exactly ARGV[2]; '0': only if the key is absent.
 * A script rather than WATCH/MULTI because WATCH belongs to the connection, and the stores share
 * their client with the queues and each other.
 */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
return 1
`;

/**
 * Sets `key` to `next` only if it still holds `expected` (`null`: is still absent), atomically.
 * Returns whether it wrote: false means someone else wrote in between, and the caller re-reads.
 */
export async function compareAndSet(redis: Redis, key: string, expected: string | null, next: string): Promise<boolean> {
  return (await redis.eval(COMPARE_AND_SET, 1, key, expected === null ? '0' : '1', expected ?? '', next)) === 1;
}
