/**
 * `npm run bench -- --roofline` in CI size: unified-tiny's text to image with small calibration
 * dispatches. No time is asserted: the table and the JSON line must be there, every kernel the
 * generation dispatches must be a family of the table with its calls, and linear's FLOPs must be 2·M·N·K
 * of the tensors it binds, and of the model's config for the image head and the MLP of the last scale.
 * A VAR folder makes one image of a class instead.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { benchRoofline, type Calibration } from '../../runtime/cli/roofline-bench.ts';
import { Recorder, type Dispatch, type Kernel, type Tensor } from '../../runtime/gpu/index.ts';
import { loadUnifiedFolder } from '../../runtime/models/unified/load.ts';
import { loadVarFolder } from '../../runtime/models/var/load.ts';
import { FIXTURE as VAR_FIXTURE } from '../models/fixture.ts';
import { testGpu } from '../helpers.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/unified-tiny', import.meta.url));
const SMALL: Calibration = { fmaInvocations: 300, fmaRounds: 2, copyBytes: 16 * 1000, repeats: 2 };
const CALIBRATION_KERNELS = ['fma_peak', 'copy_vec4'];

/**
 * 2·M·N·K of a linear dispatch, from the shapes of the tensors it binds (x [..., K], weight [N, K]); twice that
 * for SwiGLU's two projections in one dispatch (linearSwiglu).
 */
function linearFlops(d: Dispatch): number {
  const x = (d.bindings.x ?? d.bindings.x4) as Tensor;
  const [N, K] = ((d.bindings.w ?? d.bindings.w2) as Tensor).shape;
  return (d.constants?.SWIGLU ? 2 : 1) * 2 * (x.size / K) * N * K;
}

describe('bench --roofline', () => {
  it('prints a roofline of every kernel family of a unified text to image', async () => {
    const gpu = await testGpu();
    const model = await loadUnifiedFolder(gpu, FIXTURE);
    const calls = new Map<string, number>();
    let linearBound = 0;
    const dispatch = Recorder.prototype.dispatch;
    const spy = vi.spyOn(Recorder.prototype, 'dispatch').mockImplementation(function (this: Recorder, kernel: Kernel, d: Dispatch) {
      calls.set(kernel.name, (calls.get(kernel.name) ?? 0) + 1);
      if (kernel.name.startsWith('linear')) linearBound += linearFlops(d);
      dispatch.call(this, kernel, d);
    });
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    let result;
    try {
      result = await benchRoofline(gpu, model, 'unified-tiny', { prompt: 'red and blue checker, fine', calibration: SMALL });
    } finally {
      log.mockRestore();
      spy.mockRestore();
      model.dispose();
    }

    expect(lines[0]).toMatch(/^roofline: unified-tiny \(unified\)/);
    expect(lines[0]).toMatch(/software adapter: every time here is the CPU's/);
    expect(lines.some((l) => l.startsWith('| kernel | calls | ms | GFLOP | MB | GFLOP/s | GB/s | FLOP/B | of peak |'))).toBe(true);
    expect(lines.some((l) => l.startsWith('| total |'))).toBe(true);
    const json = JSON.parse(lines[lines.length - 1]);
    expect(json).toMatchObject({ bench: 'roofline', family: 'unified', calibration: SMALL });
    expect(json.families.map((f: { kernel: string }) => f.kernel)).toEqual(result.families.map((f) => f.kernel));
    expect(result.peak.flopsPerS).toBeGreaterThan(0);
    expect(result.peak.bytesPerS).toBeGreaterThan(0);

    // The spy saw the calibration kernels `repeats` times each, and the generation three times: a warm-up,
    // once timed as usual, once profiled.
    for (const k of CALIBRATION_KERNELS) expect(calls.get(k), k).toBe(SMALL.repeats);
    const generated = [...calls].filter(([k]) => !CALIBRATION_KERNELS.includes(k));
    expect(generated.length).toBeGreaterThan(5);
    const families = new Map(result.families.map((f) => [f.kernel, f]));
    expect([...families.keys()].sort()).toEqual(generated.map(([k]) => k).sort());
    for (const [k, n] of generated) {
      expect(families.get(k)!.calls, k).toBeGreaterThan(0);
      expect(3 * families.get(k)!.calls, `${k}: calls of the profiled run against all three`).toBe(n);
    }
    expect(result.total.calls).toBe(result.dispatches);
    expect(result.profiles.every((p) => typeof p.ms === 'number')).toBe(true);
    expect(lines).toContain(`the same generation recorded as usual, a pass a section: ${result.dispatches} dispatches, ${result.unprofiledMs!.toFixed(1)} GPU ms\n`);

    // linear: 2·M·N·K of the tensors it binds, summed over its dispatches (the spy's over all three runs),
    // and 2·M·N·K of the model's config for dispatches known to be there.
    const linear = result.families.filter((f) => f.kernel.startsWith('linear'));
    expect(linear.length).toBeGreaterThan(0);
    expect(3 * linear.reduce((a, f) => a + f.flops, 0)).toBe(linearBound);
    expect(linear.every((f) => f.bound === 'flops')).toBe(true);
    const { unified: u, vae } = model.config;
    const P = u.patchNums[u.patchNums.length - 1];
    const linearFlopsOf = result.profiles.filter((p) => p.kernel.startsWith('linear')).map((p) => p.flops);
    // The image head on the last scale's P² tokens: [P², C] · [V, C]ᵀ.
    expect(linearFlopsOf).toContain(2 * P * P * vae.vocabSize * u.embedDim);
    // gate and up of every layer on those tokens, [P², C] · [F, C]ᵀ each: one dispatch for both in the direct
    // style (linearSwiglu), two in the workgroup style.
    const gateUp = 2 * P * P * u.intermediateSize * u.embedDim;
    if (gpu.kernelStyle === 'direct') expect(linearFlopsOf.filter((f) => f === 2 * gateUp).length).toBeGreaterThanOrEqual(u.depth);
    else expect(linearFlopsOf.filter((f) => f === gateUp).length).toBeGreaterThanOrEqual(2 * u.depth);
  }, 300_000);

  it('profiles every dispatch of a VAR generation', async () => {
    const gpu = await testGpu();
    const model = await loadVarFolder(gpu, VAR_FIXTURE);
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    let result;
    try {
      result = await benchRoofline(gpu, model, 'var-tiny', { prompt: 'red and blue checker, fine', calibration: SMALL });
    } finally {
      log.mockRestore();
      model.dispose();
    }
    expect(JSON.parse(lines[lines.length - 1])).toMatchObject({ bench: 'roofline', family: 'var' });
    expect(result.total.calls).toBe(result.dispatches);
    const kernels = result.families.map((f) => f.kernel);
    for (const k of ['linear', 'attention', 'conv2d']) expect(kernels.some((n) => n.startsWith(k)), k).toBe(true);
    expect(result.families.every((f) => f.calls > 0)).toBe(true);
  }, 300_000);
});
