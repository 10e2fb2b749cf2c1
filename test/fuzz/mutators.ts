import { lengthFields, readLength, writeLength } from './containers.js';
import type { Prng } from './prng.js';

/** One mutation: a name for the case label and a pure function of the PRNG. */
export interface Mutator {
  name: string;
  apply: (bytes: Buffer, random: Prng, donors: Buffer[]) => Buffer;
}

const EXTREMES_32 = [0, 1, 0x7f, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const EXTREMES_16 = [0, 1, 2, 0x7f, 0xff, 0x7fff, 0x8000, 0xfffe, 0xffff];

/** Offsets near the start (where every parser branches) get half the hits. */
function offset(bytes: Buffer, random: Prng): number {
  return random.chance(0.5) ? random.int(Math.min(256, bytes.length)) : random.int(bytes.length);
}

export const MUTATORS: Mutator[] = [
  { name: 'truncate', apply: (b, r) => b.subarray(0, r.int(b.length)) },
  { name: 'truncate-tail', apply: (b, r) => b.subarray(0, Math.max(0, b.length - 1 - r.int(64))) },
  {
    name: 'flip-bytes',
    apply: (b, r) => {
      const out = Buffer.from(b);
      for (let i = 1 + r.int(16); i > 0 && out.length > 0; i--) out[offset(out, r)] = r.int(256);
      return out;
    },
  },
  {
    name: 'flip-bits',
    apply: (b, r) => {
      const out = Buffer.from(b);
      for (let i = 1 + r.int(32); i > 0 && out.length > 0; i--) {
        const at = r.int(out.length);
        out[at] = out[at]! ^ (1 << r.int(8));
      }
      return out;
    },
  },
  {
    name: 'insert-junk',
    apply: (b, r) => {
      const at = offset(b, r);
      return Buffer.concat([b.subarray(0, at), r.bytes(1 + r.int(r.chance(0.2) ? 4096 : 32)), b.subarray(at)]);
    },
  },
  {
    name: 'delete-range',
    apply: (b, r) => {
      const at = offset(b, r);
      return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + r.int(256)))]);
    },
  },
  {
    name: 'repeat-range',
    apply: (b, r) => {
      const at = r.int(b.length);
      const piece = b.subarray(at, Math.min(b.length, at + 4 + r.int(512)));
      return Buffer.concat([b.subarray(0, at), ...Array.from({ length: 2 + r.int(200) }, () => piece), b.subarray(at)]);
    },
  },
  {
    name: 'extreme-u16',
    apply: (b, r) => {
      const out = Buffer.from(b);
      if (out.length >= 2) out.writeUInt16BE(r.pick(EXTREMES_16), r.int(Math.min(512, out.length - 1)));
      return out;
    },
  },
  {
    name: 'extreme-u32',
    apply: (b, r) => {
      const out = Buffer.from(b);
      if (out.length >= 4) out.writeUInt32BE(r.pick(EXTREMES_32), r.int(Math.min(512, out.length - 3)));
      return out;
    },
  },
  {
    name: 'corrupt-length',
    apply: (b, r) => {
      const out = Buffer.from(b);
      const fields = lengthFields(out);
      if (fields.length === 0) return out;
      const field = r.pick(fields);
      const current = readLength(out, field);
      const extremes = field.width === 2 ? EXTREMES_16 : EXTREMES_32;
      const value = r.chance(0.5) ? r.pick(extremes) : r.pick([current + 1, current - 1, current * 2, current + r.int(1_000_000), r.int(2 ** 32)]);
      writeLength(out, field, value);
      return out;
    },
  },
  {
    name: 'corrupt-header-magic',
    apply: (b, r) => {
      const out = Buffer.from(b);
      // Keep the signature (so the file reaches the format's parser) and break what follows it.
      const start = Math.min(out.length, r.pick([3, 4, 8, 12, 16]));
      for (let i = 0; i < 8 && start + i < out.length; i++) if (r.chance(0.5)) out[start + i] = r.int(256);
      return out;
    },
  },
  {
    name: 'splice-donor',
    apply: (b, r, donors) => {
      const donor = r.pick(donors);
      const from = r.int(donor.length);
      const piece = donor.subarray(from, Math.min(donor.length, from + 16 + r.int(4096)));
      const at = r.int(b.length);
      return Buffer.concat([b.subarray(0, at), piece, b.subarray(r.chance(0.5) ? at : Math.min(b.length, at + piece.length))]);
    },
  },
  {
    name: 'append-tail',
    apply: (b, r) =>
      Buffer.concat([b, r.pick([Buffer.from('<script>alert(1)</script>'), Buffer.from('PK\x03\x04', 'latin1'), r.bytes(1 + r.int(8192)), Buffer.alloc(r.int(100_000))])]),
  },
];

/** Applies 1–3 mutations; returns the bytes and the mutation names. */
export function mutate(bytes: Buffer, random: Prng, donors: Buffer[]): { bytes: Buffer; steps: string[] } {
  let out = bytes;
  const steps: string[] = [];
  for (let n = 1 + (random.chance(0.3) ? random.int(3) : 0); n > 0; n--) {
    const m = random.pick(MUTATORS);
    out = m.apply(out, random, donors);
    steps.push(m.name);
  }
  return { bytes: out, steps };
}
