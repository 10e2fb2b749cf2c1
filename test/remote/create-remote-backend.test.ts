import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { BitmindBackend } from '../../src/detector/remote/bitmind-backend.js';
import { cascadeRemoteIds, createRemoteBackend } from '../../src/detector/remote/create-remote-backend.js';
import { demoCertificatePem } from '../fakes/bitmind/demo-certificate.js';
import { FakeBijouServer } from '../fakes/bijou/fake-bijou-server.js';
import { FakeBitmindServer } from '../fakes/bitmind/fake-bitmind-server.js';
import { makeImage } from './helpers.js';

const PEM = demoCertificatePem();

describe('createRemoteBackend', () => {
  let bitmindFake: FakeBitmindServer;
  let bijouFake: FakeBijouServer;
  let certFile: string;

  beforeAll(async () => {
    bitmindFake = await FakeBitmindServer.start({
      clients: [
        { clientId: 'id-1', clientSecret: 'secret-1-abcdef' },
        { clientId: 'id-mtls', certificatePem: PEM },
      ],
      apiKeys: ['org-key-xyz'],
    });
    bijouFake = await FakeBijouServer.start({ apiKeys: ['bijou_cfg_key'] });
    certFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'genguard-cert-')), 'cert.pem');
    writeFileSync(certFile, PEM);
  });

  afterAll(async () => {
    await bitmindFake.close();
    await bijouFake.close();
  });

  it('defaults: BitMind base URL, consent off, modest retries', () => {
    const config = loadConfig({});
    expect(config.remote.bitmind.baseUrl).toBe('https://enterprise.bitmind.ai');
    expect(config.remote.bijou).toMatchObject({ baseUrl: undefined, consent: false, ratePerMinute: 100 });
    expect(config.remote.retry).toEqual({ retries: 2, baseDelayMs: 250, maxDelayMs: 5000, attemptTimeoutMs: 10_000, deadlineMs: 30_000 });
    expect(config.remote.cascade.weights).toEqual({ local: 0, bitmind: 1, bijou: 1 });
    expect(loadConfig({ BIJOU_CONSENT: 'true' }).remote.bijou.consent).toBe(true);
  });

  it('names the missing variables when credentials are absent', () => {
    expect(() => createRemoteBackend(loadConfig({}), 'bitmind')).toThrow(/BITMIND_CLIENT_ID.*BITMIND_CLIENT_SECRET.*BITMIND_API_KEY/);
    expect(() => createRemoteBackend(loadConfig({ BITMIND_CLIENT_ID: 'id-1' }), 'bitmind')).toThrow(
      /BITMIND_CLIENT_SECRET \(OAuth\) or BITMIND_CLIENT_CERT_FILE/,
    );
    expect(() => createRemoteBackend(loadConfig({ BITMIND_AUTH: 'oauth', BITMIND_CLIENT_ID: 'id-1' }), 'bitmind')).toThrow(
      /needs BITMIND_CLIENT_SECRET$/,
    );
    expect(() => createRemoteBackend(loadConfig({ BITMIND_AUTH: 'api_key' }), 'bitmind')).toThrow(/needs BITMIND_API_KEY/);
    expect(() => createRemoteBackend(loadConfig({ BIJOU_API_KEY: 'bijou_x' }), 'bijou')).toThrow(/needs BIJOU_BASE_URL/);
    expect(() => createRemoteBackend(loadConfig({}), 'bijou')).toThrow(/needs BIJOU_API_KEY and BIJOU_BASE_URL/);
    let caught: unknown;
    try {
      createRemoteBackend(loadConfig({}), 'bijou');
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'config_invalid', retryable: false });
  });

  it('an unreadable or non-PEM certificate file is config_invalid, contents never quoted', () => {
    const missing = loadConfig({ BITMIND_CLIENT_ID: 'id-mtls', BITMIND_CLIENT_CERT_FILE: '/nonexistent/cert.pem' });
    expect(() => createRemoteBackend(missing, 'bitmind')).toThrow(/BITMIND_CLIENT_CERT_FILE: cannot read \/nonexistent\/cert.pem: ENOENT/);
    const junk = path.join(path.dirname(certFile), 'junk.pem');
    writeFileSync(junk, 'secret-looking-junk');
    const bad = loadConfig({ BITMIND_CLIENT_ID: 'id-mtls', BITMIND_CLIENT_CERT_FILE: junk });
    expect(() => createRemoteBackend(bad, 'bitmind')).toThrow(/holds no PEM certificate$/);
  });

  it.each([
    ['mtls', { BITMIND_CLIENT_ID: 'id-mtls', BITMIND_CLIENT_CERT_FILE: 'CERT', BITMIND_CLIENT_SECRET: 'ignored' }],
    ['oauth', { BITMIND_CLIENT_ID: 'id-1', BITMIND_CLIENT_SECRET: 'secret-1-abcdef', BITMIND_API_KEY: 'org-key-xyz' }],
    ['api_key', { BITMIND_API_KEY: 'org-key-xyz' }],
  ] as const)('BITMIND_AUTH=auto picks %s, and it works against the fake', async (method, vars) => {
    const env: Record<string, string> = { BITMIND_BASE_URL: bitmindFake.url };
    for (const [k, v] of Object.entries(vars)) env[k] = v === 'CERT' ? certFile : v;
    const backend = createRemoteBackend(loadConfig(env), 'bitmind');
    try {
      expect(backend).toBeInstanceOf(BitmindBackend);
      expect((backend as BitmindBackend).auth.method).toBe(method);
      await expect(backend.detect(await makeImage('png'))).resolves.toMatchObject({ backends: ['bitmind'] });
    } finally {
      await backend.close();
    }
  });

  it('builds a working Bijou backend from the environment', async () => {
    const config = loadConfig({ BIJOU_BASE_URL: bijouFake.url, BIJOU_API_KEY: 'bijou_cfg_key' });
    const backend = createRemoteBackend(config, 'bijou');
    try {
      expect(backend.id).toBe('bijou');
      await expect(backend.detect(await makeImage('webp'))).resolves.toMatchObject({ backends: ['bijou'], models_total: 5 });
      expect(bijouFake.requests.at(-1)?.consent).toBe(false);
    } finally {
      await backend.close();
    }
  });

  it('cascade remotes: explicit list, else every remote with credentials', () => {
    expect(cascadeRemoteIds(loadConfig({}))).toEqual([]);
    expect(cascadeRemoteIds(loadConfig({ BITMIND_API_KEY: 'k', BIJOU_API_KEY: 'b' }))).toEqual(['bitmind', 'bijou']);
    expect(cascadeRemoteIds(loadConfig({ BITMIND_API_KEY: 'k', BIJOU_API_KEY: 'b', GENGUARD_CASCADE_REMOTES: 'bijou' }))).toEqual(['bijou']);
    expect(() => loadConfig({ GENGUARD_CASCADE_REMOTES: 'bijou,nope' })).toThrow(/invalid configuration/);
  });
});
