/**
 * `npm run fake:bijou -- [--port 4020] [--credits N]`: starts the fake Bijou API and prints the
 * environment to point genguard at it, e.g. `genguard scan --backend bijou photo.jpg`.
 */
import { FakeBijouServer } from './fake-bijou-server.js';

function arg(name: string, fallback: string | undefined): string | undefined {
  const i = process.argv.lastIndexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const port = Number(arg('--port', '4020'));
const credits = arg('--credits', undefined);
const apiKey = 'bijou_demo_key';
const fake = await FakeBijouServer.start(
  { apiKeys: [apiKey], ...(credits === undefined ? {} : { credits: Number(credits) }) },
  port,
);

console.log(`fake Bijou API on ${fake.url} (model scores are hashes of the image bytes, not a detection)

export GENGUARD_BACKEND=bijou BIJOU_BASE_URL=${fake.url} BIJOU_API_KEY=${apiKey}

then: genguard scan --backend bijou <image>     (Ctrl-C stops the fake)`);

const stop = () => {
  void fake.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
