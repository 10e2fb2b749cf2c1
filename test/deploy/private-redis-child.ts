/**
 * Starts a PrivateRedis in DATA_DIR, prints its URL, and waits to be killed: the test SIGKILLs
 * this process and checks that Redis goes down with it (the stdin lifeline).
 */
import { pino } from 'pino';
import { PrivateRedis } from '../../src/cli/private-redis.js';

const redis = await PrivateRedis.start({ dataDir: process.env['DATA_DIR']!, logger: pino({ level: 'silent' }) });
process.stdout.write(`${redis.url}\n`);
setInterval(() => undefined, 60_000);
