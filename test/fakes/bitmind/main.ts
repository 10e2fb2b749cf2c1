/**
 * `npm run fake:bitmind -- [--port 4010] [--token-ttl 3600]`: starts the fake BitMind API and prints
 * the environment to point genguard at it, e.g. `genguard scan --backend bitmind photo.jpg`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { demoCertificatePem } from './demo-certificate.js';
import { FakeBitmindServer } from './fake-bitmind-server.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.lastIndexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const port = Number(arg('--port', '4010'));
const certificatePem = demoCertificatePem();
const certFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'fake-bitmind-')), 'client-cert.pem');
writeFileSync(certFile, certificatePem, { mode: 0o600 });

const fake = await FakeBitmindServer.start(
  {
    clients: [
      { clientId: 'genguard-demo', clientSecret: 'demo-secret-not-for-production' },
      { clientId: 'genguard-demo-mtls', certificatePem },
    ],
    apiKeys: ['demo-org-key'],
    tokenTtlSeconds: Number(arg('--token-ttl', '3600')),
  },
  port,
);

console.log(`fake BitMind API on ${fake.url} (scores are a hash of the image bytes, not a detection)

# OAuth client credentials
export GENGUARD_BACKEND=bitmind BITMIND_BASE_URL=${fake.url} BITMIND_CLIENT_ID=genguard-demo BITMIND_CLIENT_SECRET=demo-secret-not-for-production

# OAuth + mTLS (X-Client-Cert)
export GENGUARD_BACKEND=bitmind BITMIND_BASE_URL=${fake.url} BITMIND_CLIENT_ID=genguard-demo-mtls BITMIND_CLIENT_CERT_FILE=${certFile}

# legacy organisation key
export GENGUARD_BACKEND=bitmind BITMIND_BASE_URL=${fake.url} BITMIND_API_KEY=demo-org-key

then: genguard scan --backend bitmind <image>     (Ctrl-C stops the fake)`);

const stop = () => {
  void fake.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
