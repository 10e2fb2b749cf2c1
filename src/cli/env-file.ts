import { readFileSync } from 'node:fs';
import { parse } from 'dotenv';

/**
 * Loads `.env` (or `file`) from the working directory into `env`, at the CLI edge only. Variables
 * already in the environment win, so `docker run -e`, systemd and CI settings override the file.
 * A missing file is fine; an unreadable one is an error worth seeing. Returns the keys it set.
 */
/** Keys the last loadEnvFile took from the file (for `genguard config check`'s "source" column). */
export const envFileKeys = new Set<string>();

export function loadEnvFile(file = '.env', env: NodeJS.ProcessEnv = process.env): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const set: string[] = [];
  for (const [key, value] of Object.entries(parse(text))) {
    if (env[key] !== undefined) continue;
    env[key] = value;
    set.push(key);
    envFileKeys.add(key);
  }
  return set;
}
