/**
 * The model-file fuzzer's small run (`npm run fuzz` is the large one): 300 mutated files, 75 per format,
 * each read through the runtime in a worker process held to 2 s and 512 MB. Any internal error, case
 * over a limit, or structurally damaged file that loads fails the suite.
 */
import { describe, expect, it } from 'vitest';
import { FAILURES, fuzzTable, runFuzz } from '../../tools/fuzz/run.ts';
import { FORMATS } from '../../tools/fuzz/mutate.ts';

describe('model-file fuzzer', () => {
  it('reads 300 broken and hostile files with clear errors only, within time and memory', async () => {
    const results = await runFuzz({ formats: FORMATS, cases: 75, seed: 1 });
    const failed = results.filter((r) => FAILURES.includes(r.verdict));
    expect(failed.map((r) => `${r.verdict}: ${r.format} case ${r.index} (${r.kind}): ${r.message ?? ''}`), fuzzTable(results)).toEqual([]);
    // The mutations reach every outcome a reader must handle, not only the easy ones.
    expect(results.filter((r) => r.verdict === 'clean error').length).toBeGreaterThan(150);
    expect(new Set(results.map((r) => r.kind.split(' ')[0])).size).toBeGreaterThan(20);
  }, 180_000);
});
