import sharp from 'sharp';

/** A small PNG whose bytes (and so sha256 and pHash) depend on `seed`: distinct seeds, distinct cache entries. */
export async function seededPng(seed: number, width: number, height: number): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (x * (seed + 3) + y * 7) & 0xff;
      data[i + 1] = Math.round(127 + 120 * Math.sin((x + seed * 11) / (5 + (seed % 7)))) & 0xff;
      data[i + 2] = ((x ^ y) * (seed + 1)) & 0xff;
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}
