import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { z } from 'zod';
import { GenguardError } from '../errors/genguard-error.js';
import { envSchema, type Env } from './schema.js';
import type { Bands } from '../detector/result.js';

export interface IntakeLimits {
  maxBytes: number;
  maxPixels: number;
  fetchTimeoutMs: number;
  maxRedirects: number;
  allowHosts: string[];
}

export interface Config {
  env: Env;
  bands: Bands;
  intake: IntakeLimits;
  manifestPath: string;
}

/** The repository (or installed package) root, where `models/` lives. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function loadConfig(source: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) if (v !== undefined && v !== '') raw[k] = v;
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    throw new GenguardError('config_invalid', `invalid configuration:\n${z.prettifyError(parsed.error)}`);
  }
  const env = parsed.data;
  if (env.GENGUARD_UNCERTAIN_THRESHOLD > env.GENGUARD_AI_THRESHOLD) {
    throw new GenguardError(
      'config_invalid',
      'GENGUARD_UNCERTAIN_THRESHOLD must not be above GENGUARD_AI_THRESHOLD',
    );
  }
  return {
    env,
    bands: { ai: env.GENGUARD_AI_THRESHOLD, uncertain: env.GENGUARD_UNCERTAIN_THRESHOLD },
    intake: {
      maxBytes: env.GENGUARD_MAX_BYTES,
      maxPixels: env.GENGUARD_MAX_PIXELS,
      fetchTimeoutMs: env.GENGUARD_FETCH_TIMEOUT_MS,
      maxRedirects: env.GENGUARD_FETCH_MAX_REDIRECTS,
      allowHosts: env.GENGUARD_FETCH_ALLOW_HOSTS,
    },
    manifestPath: env.GENGUARD_MODELS_MANIFEST ?? path.join(PACKAGE_ROOT, 'models', 'manifest.json'),
  };
}
