import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { GenguardError } from '../../errors/genguard-error.js';
import { sha256File } from './model-files.js';

export interface FetchModelOptions {
  /** Required: a download is only kept when its SHA-256 matches. */
  sha256: string;
  /** HTTP client; by default an undici Agent that follows up to 5 redirects (GitHub, Hugging Face). */
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * Streams `url` into a temporary file beside `dest`, hashing on the way, and renames it into place
 * only when the checksum matches: a failed, cut or tampered download never replaces a model.
 */
export async function downloadModel(url: string, dest: string, options: FetchModelOptions): Promise<{ bytes: number }> {
  const timeoutMs = options.timeoutMs ?? 30 * 60_000;
  const dispatcher =
    options.dispatcher ??
    new Agent({ headersTimeout: 60_000, bodyTimeout: 120_000 }).compose(interceptors.redirect({ maxRedirections: 5 }));
  await mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.${randomBytes(4).toString('hex')}.part`;
  const hash = createHash('sha256');
  let bytes = 0;
  const signal = options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
  try {
    const res = await request(url, { dispatcher, signal, headers: { 'user-agent': 'genguard-models' } });
    if (res.statusCode < 200 || res.statusCode >= 300) {
      await res.body.dump();
      throw new GenguardError('http_error', `GET ${url} answered HTTP ${res.statusCode}`, { details: { status: res.statusCode } });
    }
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    await pipeline(res.body, tap, createWriteStream(tmp));
    const actual = hash.digest('hex');
    if (actual !== options.sha256) {
      throw new GenguardError('model_invalid', `download of ${url} has SHA-256 ${actual}, expected ${options.sha256}; discarded`);
    }
    await rename(tmp, dest);
    return { bytes };
  } catch (error) {
    await rm(tmp, { force: true });
    if (error instanceof GenguardError) throw error;
    throw new GenguardError('fetch_failed', `cannot download ${url}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  } finally {
    if (!options.dispatcher) await dispatcher.close();
  }
}

/** Copies a local file into place through a temporary file, verifying `sha256` when given. */
export async function copyModel(src: string, dest: string, sha256?: string): Promise<{ sha256: string; bytes: number }> {
  if (path.resolve(src) === path.resolve(dest)) return verified(await sha256File(src), src, sha256);
  await mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.${randomBytes(4).toString('hex')}.part`;
  try {
    await copyFile(src, tmp);
    const actual = verified(await sha256File(tmp), src, sha256);
    await rename(tmp, dest);
    return actual;
  } catch (error) {
    await rm(tmp, { force: true });
    if (error instanceof GenguardError) throw error;
    throw new GenguardError('not_found', `cannot copy ${src} to ${dest}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

function verified(actual: { sha256: string; bytes: number }, src: string, expected: string | undefined) {
  if (expected && actual.sha256 !== expected) {
    throw new GenguardError('model_invalid', `${src} has SHA-256 ${actual.sha256}, expected ${expected}`);
  }
  return actual;
}
