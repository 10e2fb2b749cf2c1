import { createFuzzCorpus } from '../../test/fuzz/fuzz-cases.js';
const a = await createFuzzCorpus(1);
const b = await createFuzzCorpus(1);
for (const [i, s] of a.seeds.entries()) console.log(s.name, s.bytes.length, s.bytes.equals(b.seeds[i]!.bytes));
