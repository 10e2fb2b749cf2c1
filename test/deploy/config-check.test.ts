import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfig, maskValue } from '../../src/cli/config-check.js';
import { loadEnvFile } from '../../src/cli/env-file.js';
import { loadConfig } from '../../src/config/load-config.js';
import { freePort, TestRedis } from '../queue/helpers/redis-server.js';
import { baseEnv, runCli } from './helpers/cli-process.js';

const redis = new TestRedis();
let dir: string;
beforeAll(async () => {
  await redis.start();
  dir = await mkdtemp(path.join(os.tmpdir(), 'genguard-config-'));
});
afterAll(async () => {
  await redis.destroy();
  await rm(dir, { recursive: true, force: true });
});

/** A manifest with one classifier whose weight file does not match its pinned checksum. */
async function tamperedManifest(): Promise<string> {
  const models = path.join(dir, 'models');
  await mkdir(path.join(models, 'm'), { recursive: true });
  await writeFile(path.join(models, 'm', 'model.onnx'), 'not the weights that were pinned');
  const manifest = path.join(models, 'manifest.json');
  const pinned = createHash('sha256').update('the real weights').digest('hex');
  await writeFile(manifest, JSON.stringify({ version: 't1', models: [{ id: 'm', method: 'classifier', file: 'm/model.onnx', sha256: pinned, licence: 'x', source: 'y' }] }));
  return manifest;
}

const check = (env: Record<string, string>, fromFile: string[] = []) =>
  checkConfig({ env, fromFile: new Set(fromFile), onPath: () => true });

describe('genguard config check', () => {
  it('reports every problem at once: bad value, half a Discord setup, unusable Slack, dead Redis, bad model file', async () => {
    const report = await check({
      GENGUARD_AI_THRESHOLD: '2',
      DISCORD_TOKEN: 'MTAxMjM0NTY3ODkwMTIzNDU2.Gabcde.discord-secret-part-xyz',
      SLACK_BOT_TOKEN: 'xoxb-1-2-slack-secret-token',
      REDIS_URL: `redis://:hunter2hunter2@127.0.0.1:${await freePort()}`,
      GENGUARD_MODELS_MANIFEST: await tamperedManifest(),
    });
    const problems = report.problems.join('\n');
    expect(problems).toContain('GENGUARD_AI_THRESHOLD');
    expect(problems).toContain('DISCORD_APPLICATION_ID is not');
    expect(problems).toContain('Slack: HTTP mode needs SLACK_SIGNING_SECRET');
    expect(problems).toMatch(/Redis at redis:\/\/:\*\*\*\*@127\.0\.0\.1:\d+ is unreachable/);
    expect(problems).toMatch(/model "m" \(model: m\/model\.onnx\) fails its checksum/);
    expect(report.problems).toHaveLength(5);
    const shown = JSON.stringify(report);
    for (const secret of ['discord-secret-part', 'slack-secret', 'hunter2']) expect(shown).not.toContain(secret);
    expect(report.values.find((v) => v.key === 'GENGUARD_AI_THRESHOLD')).toEqual({ key: 'GENGUARD_AI_THRESHOLD', value: '2', source: 'environment' });
  });

  it('passes a working setup and says where each value came from', async () => {
    const report = await check({ REDIS_URL: redis.url, GENGUARD_MODELS: 'provenance', SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_APP_TOKEN: 'xapp-1-abc' }, ['GENGUARD_MODELS']);
    expect(report.problems).toEqual([]);
    const byKey = Object.fromEntries(report.values.map((v) => [v.key, v]));
    expect(byKey['GENGUARD_MODELS']).toMatchObject({ value: 'provenance', source: '.env' });
    expect(byKey['REDIS_URL']).toMatchObject({ source: 'environment' });
    expect(byKey['GENGUARD_API_PORT']).toMatchObject({ value: '8080', source: 'default' });
    expect(byKey['DISCORD_TOKEN']).toMatchObject({ source: 'unset' });
    expect(byKey['SLACK_BOT_TOKEN']!.value).toBe('**** (12 chars)');
  });

  it('masks secrets, keeping at most the last four characters, and URL passwords', () => {
    expect(maskValue('DISCORD_TOKEN', 'abcdefghijklmnopqrstuvwxyz')).toBe('****wxyz (26 chars)');
    expect(maskValue('BITMIND_CLIENT_SECRET', 'short')).toBe('**** (5 chars)');
    expect(maskValue('REDIS_URL', 'redis://user:pw@host:6379/0')).toBe('redis://user:****@host:6379/0');
    expect(maskValue('GENGUARD_API_PORT', '8080')).toBe('8080');
  });

  it('loads .env at the CLI edge with the environment winning, and exits 1 on a problem', async () => {
    const cwd = await mkdtemp(path.join(dir, 'cli-'));
    await writeFile(path.join(cwd, '.env'), 'GENGUARD_API_PORT=9000\nLOG_LEVEL=debug\nDISCORD_TOKEN=from-dotenv-secret-value-1234\n');
    const result = await runCli(['config', 'check'], { cwd, env: baseEnv({ GENGUARD_API_PORT: '9100', REDIS_URL: redis.url }) });
    const out = result.lines.join('\n');
    expect(out).toMatch(/GENGUARD_API_PORT\s+9100\s+\[environment\]/);
    expect(out).toMatch(/LOG_LEVEL\s+debug\s+\[\.env\]/);
    expect(out).toMatch(/DISCORD_TOKEN\s+\*\*\*\*1234 \(29 chars\)\s+\[\.env\]/);
    expect(out).not.toContain('from-dotenv-secret');
    expect(out).toContain('DISCORD_APPLICATION_ID is not');
    expect(result.code).toBe(1);
  });

  describe('GENGUARD_ENCRYPTION_KEY', () => {
    const bytes = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 1));
    // Offline: the Redis test is covered above, and these run many checks.
    const check = (env: Record<string, string>) => checkConfig({ env, fromFile: new Set(), onPath: () => true, offline: true });
    const oauth = { REDIS_URL: 'redis://127.0.0.1:6379', GENGUARD_MODELS: 'provenance', SLACK_CLIENT_ID: 'c', SLACK_CLIENT_SECRET: 'client-secret-value', SLACK_STATE_SECRET: 'state-secret-value', SLACK_SIGNING_SECRET: 'signing-secret-value' };
    const unencrypted = (warnings: string[]) => warnings.filter((w) => w.includes('stored unencrypted'));

    it('accepts 32 bytes as base64 or hex, decodes them for the typed config, and shows none of it', async () => {
      for (const text of [bytes.toString('base64'), bytes.toString('hex'), bytes.toString('hex').toUpperCase(), bytes.toString('base64url') + '=']) {
        expect(loadConfig({ GENGUARD_ENCRYPTION_KEY: text }).encryptionKey, text).toEqual(bytes);
        const report = await check({ ...oauth, GENGUARD_ENCRYPTION_KEY: text });
        expect(report.problems, text).toEqual([]);
        expect(unencrypted(report.warnings)).toEqual([]);
        const shown = report.values.find((v) => v.key === 'GENGUARD_ENCRYPTION_KEY');
        expect(shown).toEqual({ key: 'GENGUARD_ENCRYPTION_KEY', value: `**** (${text.length} chars)`, source: 'environment' });
        expect(JSON.stringify(report)).not.toContain(text.slice(-6, -1));
      }
      expect(loadConfig({}).encryptionKey).toBeUndefined();
    });

    it('reports a value of the wrong length or alphabet as a problem, masked', async () => {
      const invalid = [
        bytes.subarray(0, 16).toString('base64'), // 16 bytes
        bytes.toString('hex').slice(0, 63), // a hex digit short
        `${bytes.toString('base64').slice(0, 42)}!=`, // not base64
        'correct horse battery staple correct horse battery', // a passphrase
      ];
      for (const text of invalid) {
        expect(() => loadConfig({ GENGUARD_ENCRYPTION_KEY: text }), text).toThrow(/GENGUARD_ENCRYPTION_KEY/);
        const report = await check({ ...oauth, GENGUARD_ENCRYPTION_KEY: text });
        expect(report.problems, text).toHaveLength(1);
        expect(report.problems[0]).toMatch(/^GENGUARD_ENCRYPTION_KEY: expected 32 bytes as base64 \(44 characters\) or hex \(64 characters\)/);
        expect(JSON.stringify(report)).not.toContain(text.slice(0, 12));
        // Reported once, as the invalid value it is, not again as "unencrypted".
        expect(unencrypted(report.warnings)).toEqual([]);
      }
    });

    it('warns (not a problem) when OAuth installations would be stored unencrypted', async () => {
      const report = await check(oauth);
      expect(report.problems).toEqual([]);
      expect(unencrypted(report.warnings)).toHaveLength(1);
      expect(unencrypted(report.warnings)[0]).toContain('set GENGUARD_ENCRYPTION_KEY');
      // One workspace: the token is in the environment, not in Redis.
      const single = await check({ REDIS_URL: 'redis://127.0.0.1:6379', GENGUARD_MODELS: 'provenance', SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_APP_TOKEN: 'xapp-1-abc' });
      expect(unencrypted(single.warnings)).toEqual([]);
    });
  });

  it('loadEnvFile fills in only what the environment lacks', async () => {
    const file = path.join(dir, 'test.env');
    await writeFile(file, 'A_KEY=from-file\nB_KEY=from-file\nC_KEY="quoted value"\n');
    const env: NodeJS.ProcessEnv = { A_KEY: 'from-env', B_KEY: '' };
    expect(loadEnvFile(file, env).sort()).toEqual(['C_KEY']);
    expect(env).toEqual({ A_KEY: 'from-env', B_KEY: '', C_KEY: 'quoted value' });
    expect(loadEnvFile(path.join(dir, 'absent.env'), env)).toEqual([]);
  });
});
