import { z } from 'zod';

const bool = z
  .union([z.boolean(), z.string()])
  .transform((v, ctx) => {
    if (typeof v === 'boolean') return v;
    const s = v.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
    ctx.addIssue({ code: 'custom', message: `expected a boolean, got "${v}"` });
    return z.NEVER;
  });
const num = (def: number) => z.coerce.number().default(def);
const int = (def: number) => z.coerce.number().int().default(def);
const list = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );

/**
 * Every environment variable genguard reads, with its default. Parsed once at the edge
 * (CLI start-up); the typed `Config` is passed down. `.env.example` documents the same list.
 */
export const envSchema = z.object({
  // --- verdict bands ---
  /** Score at or above which an image is `ai_generated` and moderators are alerted. */
  GENGUARD_AI_THRESHOLD: num(0.7).pipe(z.number().min(0).max(1)),
  /** Score at or above which (and below the AI threshold) an image is `uncertain`. */
  GENGUARD_UNCERTAIN_THRESHOLD: num(0.4).pipe(z.number().min(0).max(1)),

  // --- intake ---
  /** Largest accepted image, in bytes. */
  GENGUARD_MAX_BYTES: int(10 * 1024 * 1024).pipe(z.number().positive()),
  /** Largest accepted image, in pixels (width × height), checked before decoding. */
  GENGUARD_MAX_PIXELS: int(40_000_000).pipe(z.number().positive()),
  /** Timeout for downloading an image URL, in milliseconds. */
  GENGUARD_FETCH_TIMEOUT_MS: int(15_000).pipe(z.number().positive()),
  /** Redirects followed when downloading an image URL. */
  GENGUARD_FETCH_MAX_REDIRECTS: int(3).pipe(z.number().min(0)),
  /** Hosts or IPs that may be fetched although private/loopback (comma-separated; e.g. 127.0.0.1). */
  GENGUARD_FETCH_ALLOW_HOSTS: list.default([]),

  // --- detection ---
  /** Model manifest; defaults to the models/manifest.json shipped with genguard. */
  GENGUARD_MODELS_MANIFEST: z.string().optional(),
  /** Comma-separated model ids to run (default: every enabled, non-slow entry of the manifest). */
  GENGUARD_MODELS: list.optional(),
  /** onnxruntime intra-op threads per session (0 = onnxruntime's default: one per core). */
  GENGUARD_ORT_THREADS: int(0).pipe(z.number().min(0)),
  /** Backend: local ensemble, a remote API, or local first then remote when uncertain. */
  GENGUARD_BACKEND: z.enum(['local', 'bitmind', 'bijou', 'cascade']).default('local'),

  // --- logging ---
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof envSchema>;
export { bool as envBool };
