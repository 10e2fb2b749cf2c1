/**
 * `torch.randn(n, generator=torch.Generator().manual_seed(seed))` on the CPU, float32: the noise
 * AEROBLADE's official code feeds the Stable Diffusion posterior for an image processed on its
 * own (aeroblade/image.py seeds a fresh generator per autoencoder). Values agree with torch to a
 * few float32 ulps (torch evaluates log/sin/cos with SIMD approximations).
 *
 * torch's CPU generator is MT19937 (at::mt19937, the standard 32-bit algorithm). For float tensors
 * of at least 16 contiguous elements, `normal_fill` first draws n uniforms (24-bit mantissa), then
 * turns each block of 16 into normals by Box–Muller: u1 = 1 − data[j], u2 = data[j + 8] give
 * data[j] = r·cos θ and data[j + 8] = r·sin θ; a ragged tail is redone from 16 fresh uniforms.
 * Smaller tensors take another path, which is not reproduced: callers must ask for n ≥ 16.
 */
export function torchRandn(seed: number, n: number): Float32Array {
  if (!Number.isInteger(n) || n < 16) throw new RangeError(`torchRandn needs n ≥ 16 (got ${n})`);
  const mt = new Mt19937(seed);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = uniform(mt);
  for (let i = 0; i + 16 <= n; i += 16) boxMuller16(data, i);
  if (n % 16 !== 0) {
    const start = n - 16;
    for (let i = 0; i < 16; i++) data[start + i] = uniform(mt);
    boxMuller16(data, start);
  }
  return Float32Array.from(data);
}

function uniform(mt: Mt19937): number {
  return Math.fround((mt.next() & 0xffffff) * 2 ** -24);
}

function boxMuller16(data: Float64Array, at: number): void {
  const f = Math.fround;
  for (let j = 0; j < 8; j++) {
    const u1 = f(1 - data[at + j]!);
    const u2 = data[at + j + 8]!;
    const radius = f(Math.sqrt(f(-2 * f(Math.log(u1)))));
    const theta = f(f(2 * Math.PI) * u2);
    data[at + j] = f(radius * f(Math.cos(theta)));
    data[at + j + 8] = f(radius * f(Math.sin(theta)));
  }
}

/** MT19937 with the reference seeding (init_genrand) and tempering. */
class Mt19937 {
  readonly #state = new Uint32Array(624);
  #index = 624;

  constructor(seed: number) {
    const s = this.#state;
    s[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = s[i - 1]! ^ (s[i - 1]! >>> 30);
      s[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  next(): number {
    if (this.#index >= 624) this.#twist();
    let y = this.#state[this.#index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  #twist(): void {
    const s = this.#state;
    for (let i = 0; i < 624; i++) {
      const y = (s[i]! & 0x80000000) | (s[(i + 1) % 624]! & 0x7fffffff);
      let v = s[(i + 397) % 624]! ^ (y >>> 1);
      if (y & 1) v ^= 0x9908b0df;
      s[i] = v >>> 0;
    }
    this.#index = 0;
  }
}
