/**
 * `npm run bench -- --roofline [--model DIR]`: a roofline per kernel family. The adapter is calibrated
 * first: its peak rate of floating-point operations (`fma_peak`, chains of vec4 multiply-adds in every
 * invocation) and its memory bandwidth (`copy_vec4` over a large buffer), each the fastest of a few
 * dispatches timed by timestamp queries. Then one generation runs with every dispatch timed alone (a
 * Profiler on the Gpu): a unified folder (default models/builtin) makes one image from a prompt, unguided
 * as UNIFIED_SAMPLING; a VAR folder one image of class 0. A first generation, not measured, compiles
 * the pipelines and fills the buffer pool; a second is timed as the other benches time it (a pass a
 * section), to show what a pass a dispatch adds.
 *
 * Per kernel family (a kernel's name): calls, GPU ms, GFLOP, MB moved, the GFLOP/s and GB/s achieved,
 * the operations per byte, and the fraction of the calibrated peak: of the FLOP/s for the kernels whose
 * wrappers count their operations (linear, matmul, conv2d, attention, the nearest code), of the
 * bandwidth for the rest. Sorted by time, with totals; then one JSON line.
 */
import { Profiler, type DispatchProfile, type Gpu, type Recorder } from '../gpu/index.ts';
import { SAMPLING_DEFAULTS } from '../generate/sampling.ts';
import type { SubmittedStep } from '../generate/steps.ts';
import { UnifiedSession } from '../generate/unified-session.ts';
import { UNIFIED_SAMPLING } from '../generate/unified-tasks.ts';
import { VarSession } from '../generate/var-session.ts';
import { copyVec4, FMA_PEAK_FLOPS_PER_ROUND, fmaPeak } from '../kernels/roofline.ts';
import type { AnyModel } from '../models/load.ts';
import type { UnifiedModel } from '../models/unified/model.ts';
import type { VarModel } from '../models/var/model.ts';

/** Sizes of the calibration dispatches. */
export interface Calibration {
  /** fma_peak: invocations, and rounds of 8 multiply-add steps of each of their chains. */
  fmaInvocations: number;
  fmaRounds: number;
  /** copy_vec4: bytes read (and as many written). */
  copyBytes: number;
  /** Dispatches of each kernel timed; the fastest counts. */
  repeats: number;
}

/** Calibration sizes: tens of ms a dispatch on a CPU-emulated adapter, a few ms on a GPU. */
export const CALIBRATION: Record<'software' | 'gpu', Calibration> = {
  software: { fmaInvocations: 65_536, fmaRounds: 16, copyBytes: 64 * 2 ** 20, repeats: 5 },
  gpu: { fmaInvocations: 1 << 20, fmaRounds: 512, copyBytes: 256 * 2 ** 20, repeats: 5 },
};

export interface Peak {
  /** Floating-point operations a second, and bytes read plus written a second. */
  flopsPerS: number;
  bytesPerS: number;
  fmaMs: number;
  copyMs: number;
  /** Bytes copy_vec4 read (the calibration's, within the adapter's largest storage binding). */
  copyBytes: number;
}

/** What a set of dispatches did: its GPU time, its operations and bytes, and their rates. */
export interface RooflineRates {
  /** The kernel's name, or 'total'. */
  kernel: string;
  calls: number;
  ms: number;
  flops: number;
  bytes: number;
  gflopsPerS: number;
  gbPerS: number;
  /** Floating-point operations per byte moved. */
  flopsPerByte: number;
}

/** One kernel family's rates, and how near they come to the calibrated peak. */
export interface RooflineFamily extends RooflineRates {
  /** What the fraction is of: the FLOP/s where the wrapper counts operations, else the bandwidth. */
  bound: 'flops' | 'bandwidth';
  peakFraction: number;
}

export interface RooflineResult {
  peak: Peak;
  families: RooflineFamily[];
  total: RooflineRates;
  /** Dispatches the generation's steps reported; every one of them is profiled. */
  dispatches: number;
  /** GPU ms of the same generation recorded as usual (a pass a section), for the profile's overhead. */
  unprofiledMs?: number;
  profiles: DispatchProfile[];
}

export interface RooflineOptions {
  /** What a unified model makes an image of. */
  prompt: string;
  /** Default: CALIBRATION's sizes for the adapter. */
  calibration?: Calibration;
}

/** Times the calibration kernels and one profiled generation; prints the roofline table and a JSON line. */
export async function benchRoofline(gpu: Gpu, model: AnyModel, name: string, options: RooflineOptions): Promise<RooflineResult> {
  const c = options.calibration ?? CALIBRATION[gpu.isSoftware ? 'software' : 'gpu'];
  const prompt = options.prompt;
  if (!gpu.hasTimestamps) throw new Error(`roofline: ${gpu.adapterName} has no 'timestamp-query' feature: nothing can be timed`);
  const peak = await calibrate(gpu, c);

  await generate(model, prompt);
  const unprofiled = await generate(model, prompt, true);
  const profiler = (gpu.profiler = new Profiler(gpu));
  let dispatches: number;
  try {
    dispatches = (await generate(model, prompt)).dispatches;
  } finally {
    gpu.profiler = undefined;
  }
  const profiles = await profiler.done();
  profiler.dispose();

  const families = byFamily(profiles, peak).sort((a, b) => b.ms - a.ms);
  const total = rates('total', profiles);
  print(gpu, model, name, c, peak, families, total, unprofiled);
  console.log(JSON.stringify({
    bench: 'roofline', model: name, family: model.config.family, dtype: model.dtype, kernelStyle: gpu.kernelStyle,
    adapter: gpu.adapterName, software: gpu.isSoftware, calibration: c, peak, families, total, dispatches, unprofiledMs: unprofiled.ms,
  }));
  return { peak, families, total, dispatches, unprofiledMs: unprofiled.ms, profiles };
}

async function calibrate(gpu: Gpu, c: Calibration): Promise<Peak> {
  const sums = gpu.tensor([c.fmaInvocations], 'f32', 'fma_peak sums');
  const largest = Math.min(gpu.device.limits.maxStorageBufferBindingSize, gpu.device.limits.maxBufferSize);
  const floats = Math.floor(Math.min(c.copyBytes, largest) / 16) * 4;
  const src = gpu.tensor([floats], 'f32', 'copy_vec4 src');
  const dst = gpu.tensor([floats], 'f32', 'copy_vec4 dst');
  try {
    const fmaMs = await fastest(gpu, 'fma_peak', c.repeats, (rec) => fmaPeak(rec, sums, { rounds: c.fmaRounds }));
    const copyMs = await fastest(gpu, 'copy_vec4', c.repeats, (rec) => copyVec4(rec, dst, src));
    const flops = c.fmaInvocations * c.fmaRounds * FMA_PEAK_FLOPS_PER_ROUND;
    return { flopsPerS: flops / (fmaMs / 1e3), bytesPerS: (2 * floats * 4) / (copyMs / 1e3), fmaMs, copyMs, copyBytes: floats * 4 };
  } finally {
    for (const t of [sums, src, dst]) t.dispose();
  }
}

/** The fastest GPU time of `repeats` submits of one dispatch each. */
async function fastest(gpu: Gpu, label: string, repeats: number, record: (rec: Recorder) => void): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const rec = gpu.recorder(label, true);
    record(rec);
    const [timing] = await rec.submit().done;
    rec.dispose();
    best = Math.min(best, timing.ms ?? Infinity);
  }
  if (!Number.isFinite(best)) throw new Error(`roofline: ${label} was not timed`);
  return best;
}

interface Generated {
  /** Dispatches the steps reported. */
  dispatches: number;
  /** GPU ms of the steps' sections, when timed. */
  ms?: number;
}

/** Runs one generation of the model to its image, its steps' sections timed with `timing`. */
async function generate(model: AnyModel, prompt: string, timing = false): Promise<Generated> {
  const steps: SubmittedStep[] = [];
  if (model.config.family === 'unified') {
    const session = new UnifiedSession(model as UnifiedModel, { guidance: false });
    try {
      session.appendText(prompt);
      const job = session.generateImage({ ...UNIFIED_SAMPLING, seed: 1 });
      await session.run({ timing, onStep: (info) => steps.push(info) });
      await job.readImage();
    } finally {
      session.dispose();
    }
  } else {
    const session = new VarSession(model as VarModel, { labels: [0], seed: 1, ...SAMPLING_DEFAULTS.var });
    try {
      while (!session.done) steps.push(session.step(timing));
      await session.readImage();
    } finally {
      session.dispose();
    }
  }
  const sections = (await Promise.all(steps.map((s) => s.gpuDone))).flat();
  return {
    dispatches: steps.reduce((n, s) => n + s.dispatches, 0),
    ms: timing && sections.every((t) => t.ms !== undefined) ? sections.reduce((a, t) => a + t.ms!, 0) : undefined,
  };
}

function rates(kernel: string, profiles: DispatchProfile[]): RooflineRates {
  const ms = profiles.reduce((a, p) => a + (p.ms ?? 0), 0);
  const flops = profiles.reduce((a, p) => a + p.flops, 0);
  const bytes = profiles.reduce((a, p) => a + p.bytes, 0);
  const s = ms / 1e3;
  return { kernel, calls: profiles.length, ms, flops, bytes, gflopsPerS: s > 0 ? flops / s / 1e9 : 0, gbPerS: s > 0 ? bytes / s / 1e9 : 0, flopsPerByte: bytes > 0 ? flops / bytes : 0 };
}

function byFamily(profiles: DispatchProfile[], peak: Peak): RooflineFamily[] {
  const groups = new Map<string, DispatchProfile[]>();
  for (const p of profiles) {
    const group = groups.get(p.kernel);
    if (group) group.push(p);
    else groups.set(p.kernel, [p]);
  }
  return [...groups].map(([kernel, ps]) => {
    const r = rates(kernel, ps);
    const bound: RooflineFamily['bound'] = r.flops > 0 ? 'flops' : 'bandwidth';
    const peakFraction = bound === 'flops' ? (r.gflopsPerS * 1e9) / peak.flopsPerS : (r.gbPerS * 1e9) / peak.bytesPerS;
    return { ...r, bound, peakFraction };
  });
}

function print(gpu: Gpu, model: AnyModel, name: string, c: Calibration, peak: Peak, families: RooflineFamily[], total: RooflineRates, unprofiled: Generated): void {
  const pct = (x: number) => `${sig(100 * x)}%`;
  // Kernels whose wrappers count no operations show '-' in the operation columns, not 0.
  const ops = (r: RooflineRates, x: number) => (r.flops > 0 ? sig(x) : '-');
  const row = (r: RooflineRates, share: string) =>
    `| ${r.calls} | ${r.ms.toFixed(1)} | ${ops(r, r.flops / 1e9)} | ${sig(r.bytes / 1e6)} | ${ops(r, r.gflopsPerS)} | ${sig(r.gbPerS)} | ${ops(r, r.flopsPerByte)} | ${share} |`;
  const where = gpu.isSoftware ? ' (a software adapter: every time here is the CPU\'s, emulating a GPU)' : '';
  console.log(`roofline: ${name} (${model.config.family}), ${model.dtype} weights, ${gpu.kernelStyle} kernels, ${gpu.adapterName}${where}`);
  console.log(
    `peak: ${(peak.flopsPerS / 1e9).toFixed(2)} GFLOP/s (fma_peak, ${c.fmaInvocations} invocations x ${8 * c.fmaRounds} steps: ${peak.fmaMs.toFixed(2)} ms), ` +
      `${(peak.bytesPerS / 1e9).toFixed(2)} GB/s (copy_vec4, ${sig(peak.copyBytes / 2 ** 20)} MiB read and written: ${peak.copyMs.toFixed(2)} ms), ` +
      `fastest of ${c.repeats}; ridge at ${(peak.flopsPerS / peak.bytesPerS).toFixed(2)} FLOP/B`,
  );
  console.log(`the same generation recorded as usual, a pass a section: ${unprofiled.dispatches} dispatches, ${unprofiled.ms?.toFixed(1) ?? '-'} GPU ms\n`);
  console.log('| kernel | calls | ms | GFLOP | MB | GFLOP/s | GB/s | FLOP/B | of peak |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const f of families) console.log(`| ${f.kernel} ${row(f, `${pct(f.peakFraction)} ${f.bound === 'flops' ? 'FLOP/s' : 'GB/s'}`)}`);
  const share = `${pct((total.gflopsPerS * 1e9) / peak.flopsPerS)} FLOP/s, ${pct((total.gbPerS * 1e9) / peak.bytesPerS)} GB/s`;
  console.log(`| total ${row(total, share)}`);
}

/** Three significant digits (whole numbers from 1000 on): 2379, 116, 1.19, 0.0421. */
function sig(x: number): string {
  return x === 0 ? '0' : x >= 1000 ? x.toFixed(0) : String(Number(x.toPrecision(3)));
}
