import type { IncomingMessage } from 'node:http';
import { GenguardError } from '../errors/genguard-error.js';

/**
 * Reads a request body of at most `limit` bytes. A declared Content-Length above the limit is
 * refused before reading a byte; a chunked body is counted as it arrives and refused at the limit
 * (`too_large`, which the server answers with 413 and a closed connection).
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    throw new GenguardError('too_large', `the request body is ${declared} bytes, above the ${limit}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new GenguardError('too_large', `the request body is above the ${limit}-byte limit`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
