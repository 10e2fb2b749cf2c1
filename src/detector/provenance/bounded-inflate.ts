import { gunzipSync, inflateSync } from 'node:zlib';
import { LIMITS } from './limits.js';

export type InflateResult = { ok: true; bytes: Buffer } | { ok: false; error: string };

/**
 * zlib/gzip inflate whose output never exceeds `maxOutput` bytes: a zip bomb costs at most that
 * much memory and the time to produce it, then fails with a note instead of an exception.
 */
export function boundedInflate(data: Uint8Array, kind: 'zlib' | 'gzip' = 'zlib', maxOutput: number = LIMITS.maxInflatedBytes): InflateResult {
  try {
    const options = { maxOutputLength: maxOutput };
    const bytes = kind === 'gzip' ? gunzipSync(data, options) : inflateSync(data, options);
    return { ok: true, bytes };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
      return { ok: false, error: `inflates to more than ${maxOutput} bytes` };
    }
    return { ok: false, error: `corrupt compressed data (${error instanceof Error ? error.message : String(error)})` };
  }
}
