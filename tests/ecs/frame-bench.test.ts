/**
 * `npm run bench -- --frame` in CI size: the engine's CPU time per frame and the frames from a settings
 * change to the first preview, with 1 and 2 generations of var-tiny. No time is asserted: the table
 * and its rows must be there, and every frame must have been timed.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { benchFrame } from '../../runtime/cli/frame-bench.ts';
import { loadVarFolder } from '../../runtime/models/var/load.ts';
import { testGpu } from '../helpers.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/var-tiny', import.meta.url));

describe('bench --frame', () => {
  it('prints the CPU ms per frame with 1 and 2 generations and the change-to-preview latency', async () => {
    const gpu = await testGpu();
    const model = await loadVarFolder(gpu, FIXTURE);
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    try {
      const rows = await benchFrame(gpu, model, 'var-tiny', 8, [1, 2]);
      expect(rows.map((r) => r.generations)).toEqual([1, 2]);
      for (const r of rows) {
        expect(r.frames).toBeGreaterThan(r.toPreview.frames);
        expect(r.cpuMs.mean).toBeGreaterThan(0);
        expect(r.cpuMs.max).toBeGreaterThanOrEqual(r.cpuMs.p95);
        expect(r.toPreview.frames).toBeGreaterThanOrEqual(1);
      }
    } finally {
      log.mockRestore();
      model.dispose();
    }
    expect(lines.some((l) => l.startsWith('| generations | frames | CPU ms per frame'))).toBe(true);
    expect(JSON.parse(lines[lines.length - 1])).toMatchObject({ bench: 'frame', rows: [{ generations: 1 }, { generations: 2 }] });
  }, 300_000);
});
