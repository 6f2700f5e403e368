import { afterEach, describe, expect, it, vi } from 'vitest';
import { benchPeer } from '../../runtime/cli/peer-bench.ts';
import { loadUnifiedFolder } from '../../runtime/models/unified/load.ts';
import { testGpu } from '../helpers.ts';

const TINY = new URL('../fixtures/unified-tiny', import.meta.url).pathname;

/** The conformance tolerances of the unified family (models/unified/README.md): logits 1e-3, images 2e-3. */
const TOLERANCE = { transformer: 1e-3, decoder: 2e-3 };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('bench --peer ort on the unified-tiny fixture', () => {
  it('times both parts on both sides and finds their outputs equal within the conformance tolerances', async () => {
    const gpu = await testGpu();
    const model = await loadUnifiedFolder(gpu, TINY);
    const printed: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(' ')));
    const result = await benchPeer(gpu, model, 'unified-tiny', { prompt: 'red and blue checker, fine', runs: 1 });
    vi.restoreAllMocks();
    model.dispose();

    expect(result.parts.map((p) => p.part)).toEqual(['transformer', 'decoder']);
    // The timed pass is the session's own forward of that scale, not a look-alike.
    expect(result.sessionMaxAbsDiff).toBeLessThanOrEqual(1e-5);
    for (const p of result.parts) {
      expect(p.placement, `${p.part}: nodes per ORT execution provider`).toEqual({ WebGpuExecutionProvider: expect.any(Number) });
      expect(Number.isFinite(p.nextscaleMs) && p.nextscaleMs > 0, `${p.part}: nextscale ms ${p.nextscaleMs}`).toBe(true);
      expect(Number.isFinite(p.ortMs) && p.ortMs > 0, `${p.part}: ORT ms ${p.ortMs}`).toBe(true);
      expect(p.maxAbs, `${p.part}: the output is not all zeros`).toBeGreaterThan(0.1);
      expect(p.maxAbsDiff, `${p.part}: max |nextscale - ORT| (of outputs up to ${p.maxAbs})`).toBeLessThan(TOLERANCE[p.part]);
    }

    const header = printed.findIndex((l) => l.startsWith('| part | what | nextscale ms | ORT ms | ORT / nextscale | max abs diff |'));
    expect(header, printed.join('\n')).toBeGreaterThanOrEqual(0);
    const rows = printed.slice(header + 2, header + 4).map((l) => l.split('|').map((c) => c.trim()));
    expect(rows.map((r) => r[1])).toEqual(['transformer', 'decoder']);
    for (const r of rows) {
      // nextscale ms, ORT ms, their ratio and the max difference are all numbers.
      for (const cell of r.slice(3, 7)) expect(Number.isFinite(Number(cell)), `cell '${cell}' of ${r.join(' | ')}`).toBe(true);
    }
    const json = JSON.parse(printed[printed.length - 1]);
    expect(json).toMatchObject({ bench: 'peer', peer: 'ort', executionProvider: 'webgpu', parts: [{ part: 'transformer' }, { part: 'decoder' }] });
  });
});
