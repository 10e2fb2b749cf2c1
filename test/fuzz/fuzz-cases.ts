import { RECIPES, seedMap } from './hostile-recipes.js';
import { mutate } from './mutators.js';
import { caseSeed, Prng } from './prng.js';
import { makeSeedImages, type SeedImage } from './seed-images.js';

/**
 * The hostile-image generator shared by test/hardening/fuzz.test.ts (small count, CI) and
 * test/fuzz/run-fuzz.ts (5 000+). Case i depends only on (seed, i): `GENGUARD_FUZZ_SEED=… `
 * and the index from a failure message rebuild the exact bytes.
 */

export interface FuzzCase {
  index: number;
  /** e.g. "png-rgb+corrupt-length+truncate" or "recipe:gif-5000-frames". */
  name: string;
  /** A file name with an image extension, whatever the bytes are (attackers choose names too). */
  fileName: string;
  bytes: Buffer;
}

export interface FuzzCorpus {
  seeds: SeedImage[];
  /** Case `index` of the run with seed `seed`. */
  make(index: number): FuzzCase;
}

export const DEFAULT_FUZZ_SEED = 0x67656e67; // "geng"

/** Share of cases built by a hostile recipe (the rest mutate a valid seed file). */
const RECIPE_SHARE = 0.25;
const EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.avif'];

export async function createFuzzCorpus(seed = DEFAULT_FUZZ_SEED): Promise<FuzzCorpus> {
  const seeds = await makeSeedImages();
  const byName = seedMap(seeds);
  const donors = seeds.map((s) => s.bytes);
  return {
    seeds,
    make(index: number): FuzzCase {
      const random = new Prng(caseSeed(seed, index));
      const fileName = `case-${index}${random.pick(EXTENSIONS)}`;
      if (random.chance(RECIPE_SHARE)) {
        const recipe = random.pick(RECIPES);
        let bytes = recipe.make(random, byName);
        let name = `recipe:${recipe.name}`;
        // Some hostile files get a mutation on top, so the recipes' parsers see broken variants too.
        if (random.chance(0.3)) {
          const mutated = mutate(bytes, random, donors);
          bytes = mutated.bytes;
          name += `+${mutated.steps.join('+')}`;
        }
        return { index, name, fileName, bytes };
      }
      const base = random.pick(seeds);
      const mutated = mutate(base.bytes, random, donors);
      return { index, name: `${base.name}+${mutated.steps.join('+')}`, fileName, bytes: mutated.bytes };
    },
  };
}

/** GENGUARD_FUZZ_COUNT / GENGUARD_FUZZ_SEED, with defaults. */
export function fuzzSettings(env: NodeJS.ProcessEnv = process.env, defaultCount = 300): { count: number; seed: number } {
  const count = Number(env['GENGUARD_FUZZ_COUNT'] ?? defaultCount);
  const seed = Number(env['GENGUARD_FUZZ_SEED'] ?? DEFAULT_FUZZ_SEED);
  if (!Number.isInteger(count) || count < 1) throw new Error(`GENGUARD_FUZZ_COUNT must be a positive integer, got ${env['GENGUARD_FUZZ_COUNT']}`);
  if (!Number.isInteger(seed)) throw new Error(`GENGUARD_FUZZ_SEED must be an integer, got ${env['GENGUARD_FUZZ_SEED']}`);
  return { count, seed };
}
