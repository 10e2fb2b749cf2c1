import { seededPng } from '../helpers/seeded-png.js';

export { NamedScoreBackend } from '../helpers/named-score-backend.js';

/** A small PNG whose bytes depend on `seed`. */
export const png = (seed: number, width = 64, height = 48): Promise<Buffer> => seededPng(seed, width, height);
