import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { bmffChainProblem } from '../../src/detector/provenance/bmff-box-chain.js';
import { box } from '../fuzz/containers.js';

/**
 * Found by the 5 000-input fuzz (case 1124, an AVIF with a range cut out): exifr's HEIF walk
 * never advanced past a box of size 0 and blocked the event loop for good. The reader now checks
 * the box chain first. The check runs in a child process with a deadline, because a regression
 * would block this test's own event loop (and its timeout) too.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ftyp = box('ftyp', Buffer.from('avif\0\0\0\0mif1avifmiaf', 'latin1'));

function sizedBox(size: number, type: string, payload = 24): Buffer {
  const b = Buffer.alloc(8 + payload);
  b.writeUInt32BE(size, 0);
  b.write(type, 4, 'latin1');
  return b;
}

function zeroLargesize(): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32BE(1, 0);
  b.write('free', 4, 'latin1');
  return b; // 64-bit size 0
}

const HOSTILE: Array<[string, Buffer]> = [
  ['a box of size 0 before meta', Buffer.concat([ftyp, sizedBox(0, 'free'), box('meta', Buffer.alloc(16))])],
  ['a box whose 64-bit size is 0', Buffer.concat([ftyp, zeroLargesize(), box('meta', Buffer.alloc(16))])],
  ['an ftyp of size 0', Buffer.concat([sizedBox(0, 'ftyp', 16), box('meta', Buffer.alloc(16))])],
  ['a box of size 4', Buffer.concat([ftyp, sizedBox(4, 'free'), box('meta', Buffer.alloc(16))])],
  // After meta only c2pa-ts walks, and it looped on this one.
  ['a 64-bit size of 0 after meta', Buffer.concat([ftyp, box('meta', Buffer.concat([Buffer.alloc(4), box('hdlr', Buffer.alloc(24))])), zeroLargesize()])],
];

describe('HEIF/AVIF box chains that would stall exifr', () => {
  it.each(HOSTILE)('%s: found by the chain check', (_label, bytes) => {
    expect(bmffChainProblem(bytes)).toBeDefined();
  });

  it('valid files pass: what sharp writes, and a chain with a free box', async () => {
    for (const channels of [3, 4] as const) {
      const avif = await sharp({ create: { width: 32, height: 24, channels, background: '#3366ff' } }).avif({ effort: 0 }).toBuffer();
      expect(bmffChainProblem(avif)).toBeUndefined();
    }
    const meta = box('meta', Buffer.concat([Buffer.alloc(4), box('hdlr', Buffer.alloc(24))]));
    expect(bmffChainProblem(Buffer.concat([ftyp, box('free', Buffer.alloc(4)), meta, box('mdat', Buffer.alloc(8))]))).toBeUndefined();
  });

  it('the provenance reader answers on each of them, within seconds, in a separate process', () => {
    const script = `
      const { inspectProvenance } = await import('./src/detector/provenance/inspect-provenance.ts');
      for (const hex of JSON.parse(process.env.CASES)) {
        const report = await inspectProvenance(Buffer.from(hex, 'hex'), 'avif');
        process.stdout.write(JSON.stringify(report.notes) + '\\n');
      }`;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      env: { ...process.env, CASES: JSON.stringify(HOSTILE.map(([, b]) => b.toString('hex'))) },
      timeout: 20_000,
      encoding: 'utf8',
    });
    expect(result.signal, `stalled: ${result.stderr}`).toBeNull();
    expect(result.status, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(HOSTILE.length);
    for (const line of lines) expect(line).toMatch(/metadata not read/);
  });
});
