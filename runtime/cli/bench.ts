/**
 * npm run bench: one image through the whole VAR loop, measured per scale: dispatches, GPU time
 * (timestamp queries where the adapter has them), bytes of weights read against the transformer's
 * size, and peak GPU memory. A full-size VAR-d16 configuration with random weights on a real GPU; the
 * tiny conformance model on a software adapter (whose absolute times mean nothing: read the counts).
 * Prints one table, then one JSON line.
 *
 *   npm run bench [-- --model DIR | --random] [--dtype f16] [--batch 1] [--depth 16] [--kernels workgroup|direct]
 *   npm run bench -- --model UNIFIED_DIR [--prompt "..."] [--cfg 0] [--variations 4]
 *   npm run bench -- --soak 1000 [--model DIR]   (memory over many generations: soak-bench.ts)
 *   npm run bench -- --frame [--model DIR] [--budget 8]   (the engine's CPU ms per frame: frame-bench.ts)
 *   npm run bench -- --roofline [--model DIR | --random [--depth 16] [--dtype f16]]   (GPU time, GFLOP/s and GB/s per kernel against the
 *       adapter's calibrated peaks, for one generation of models/builtin or DIR: roofline-bench.ts)
 *   npm run bench -- --peer ort [--model UNIFIED_DIR] [--peer-runs 3]   (nextscale beside ONNX Runtime Web's WebGPU
 *       execution provider on the same device: one scale of the transformer and the VQVAE decoder of models/builtin
 *       or DIR, times, their ratio and the largest difference of the outputs: peer-bench.ts)
 *   npm run bench -- --video [--frames 48] [--keyframe-every 8] [--video-fps 12] [--video-budget 8]
 *       [--video-seconds 60] [--video-costs condition=0.2,blocks=0.5,sample=0.3,decode=3]
 *
 * --random forces the random-weights VAR-d{depth} configuration (the default on a real GPU). A unified
 * model folder (the built-in one) is measured by unified-bench.ts: text to image per scale, and
 * captioning per token. --kernels picks the kernel style (default: the adapter's; see KernelStyle).
 * --video measures video playback instead (video-bench.ts), with any model folder: `--video --model
 * models/builtin` plays the built-in model frame by frame (it was trained on clips).
 */
import { parseArgs } from 'node:util';
import { Gpu, parseKernelStyle } from '../gpu/index.ts';
import { MAX_BATCH } from '../generate/unified-sequence.ts';
import { VarSession } from '../generate/var-session.ts';
import type { StepInfo } from '../generate/steps.ts';
import { RandomWeights } from '../models/loader.ts';
import type { VarModelConfig } from '../models/var/config.ts';
import { loadModelFolder } from '../models/load.ts';
import { readJson } from '../models/read-json.ts';
import { loadUnifiedFolder } from '../models/unified/load.ts';
import { SAMPLING_DEFAULTS } from '../generate/sampling.ts';
import { benchFrame } from './frame-bench.ts';
import { benchPeer } from './peer-bench.ts';
import { benchRoofline } from './roofline-bench.ts';
import { benchSoak } from './soak-bench.ts';
import { benchUnified } from './unified-bench.ts';
import { loadVarFolder } from '../models/var/load.ts';
import { VarModel } from '../models/var/model.ts';
import { parseDType } from './model-args.ts';
import { defaultKeyframeEvery } from '../video/sources.ts';
import { benchVideo, VIDEO_OPTIONS, videoOptions } from './video-bench.ts';

const FIXTURE = new URL('../../tests/fixtures/var-tiny', import.meta.url).pathname;
const BUILTIN = new URL('../../models/builtin', import.meta.url).pathname;

/** The public 256-px VAR-d{depth} with its VQVAE (vae_ch160v4096z32). */
function publicConfig(depth: number): VarModelConfig {
  const patchNums = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16];
  return {
    family: 'var',
    vae: { vocabSize: 4096, zChannels: 32, ch: 160, chMult: [1, 1, 2, 2, 4], numResBlocks: 2, usingSa: true, usingMidSa: true, quantConvKs: 3, quantResi: 0.5, shareQuantResi: 4, vPatchNums: patchNums, padding: 'zeros' },
    var: { numClasses: 1000, depth, embedDim: depth * 64, numHeads: depth, mlpRatio: 4, normEps: 1e-6, sharedAln: false, attnL2Norm: true, patchNums },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' }, random: { type: 'boolean' }, dtype: { type: 'string', default: 'f32' }, batch: { type: 'string', default: '1' }, depth: { type: 'string', default: '16' },
      kernels: { type: 'string' }, prompt: { type: 'string', default: 'red and blue checker, fine' }, variations: { type: 'string', default: '4' }, cfg: { type: 'string', default: String(SAMPLING_DEFAULTS.unified.cfg) },
      soak: { type: 'string' },
      frame: { type: 'boolean' },
      roofline: { type: 'boolean' },
      peer: { type: 'string' }, 'peer-runs': { type: 'string', default: '3' },
      budget: { type: 'string', default: '8' },
      ...VIDEO_OPTIONS,
    },
  });
  const dtype = parseDType(values.dtype);
  const gpu = await Gpu.create({ kernelStyle: values.kernels === undefined ? undefined : parseKernelStyle(values.kernels, '--kernels') });
  const real = !gpu.isSoftware;
  const random = values.random ?? (real && !values.model);
  const randomVar = () => VarModel.load(gpu, publicConfig(Number(values.depth)), { vae: new RandomWeights(1), vaePrefix: '', var: new RandomWeights(2), varPrefix: '', name: 'random weights' }, { dtype, encoder: false });
  const name = random ? `VAR-d${values.depth} (random weights)` : values.model ?? 'var-tiny fixture';
  if (values.frame) {
    const budget = Number(values.budget);
    if (!(budget > 0)) throw new Error(`--budget: expected GPU milliseconds a frame above 0, found '${values.budget}'`);
    const framed = await loadModelFolder(gpu, values.model ?? FIXTURE, { dtype });
    await benchFrame(gpu, framed, values.model ?? 'var-tiny fixture', budget);
    framed.dispose();
    gpu.destroy();
    return;
  }
  if (values.roofline) {
    const profiled = values.random ? await randomVar() : await loadModelFolder(gpu, values.model ?? BUILTIN, { dtype });
    await benchRoofline(gpu, profiled, `${values.random ? name : values.model ?? 'models/builtin'}, ${dtype}`, { prompt: values.prompt });
    profiled.dispose();
    gpu.destroy();
    return;
  }
  if (values.peer !== undefined) {
    if (values.peer !== 'ort') throw new Error(`--peer: the one peer is 'ort' (ONNX Runtime Web), found '${values.peer}'`);
    const dir = values.model ?? BUILTIN;
    const peered = await loadUnifiedFolder(gpu, dir, { dtype });
    await benchPeer(gpu, peered, values.model ?? 'models/builtin', { prompt: values.prompt, runs: Number(values['peer-runs']) });
    peered.dispose();
    gpu.destroy();
    return;
  }
  if (values.soak !== undefined) {
    const soaked = await loadModelFolder(gpu, values.model ?? FIXTURE, { dtype });
    await benchSoak(gpu, soaked, values.model ?? 'var-tiny fixture', Number(values.soak));
    soaked.dispose();
    gpu.destroy();
    return;
  }
  if (values.video) {
    const played = random ? await randomVar() : await loadModelFolder(gpu, values.model ?? FIXTURE, { dtype });
    await benchVideo(gpu, played, name, videoOptions(values, real, defaultKeyframeEvery(played)));
    played.dispose();
    gpu.destroy();
    return;
  }
  const config = values.model ? ((await readJson(`${values.model.replace(/\/+$/, '')}/config.json`)) as { family?: unknown } | null) : undefined;
  if (values.model && config?.family === 'unified') {
    const cfg = Number(values.cfg);
    if (!(cfg >= 0)) throw new Error(`--cfg must be a number >= 0, found '${values.cfg}'`);
    const unified = await loadUnifiedFolder(gpu, values.model, { dtype });
    const variations = Number(values.variations);
    if (!Number.isInteger(variations) || variations < 2 || variations > MAX_BATCH) throw new Error(`--variations: expected a whole number from 2 to ${MAX_BATCH}, found '${values.variations}'`);
    await benchUnified(gpu, unified, values.model, { prompt: values.prompt, cfg, variations });
    unified.dispose();
    gpu.destroy();
    return;
  }
  const model = random ? await randomVar() : await loadVarFolder(gpu, values.model ?? FIXTURE, { dtype, encoder: false });
  const labels = Array.from({ length: Number(values.batch) }, (_, i) => i % model.config.var.numClasses);
  const settings = { labels, seed: 0, ...SAMPLING_DEFAULTS.var };

  // Warm-up: compiles every pipeline and fills the buffer pool.
  const warm = new VarSession(model, settings);
  warm.run();
  await warm.readImage();
  warm.dispose();

  const session = new VarSession(model, settings);
  const steps: StepInfo[] = [];
  const t0 = performance.now();
  while (!session.done) steps.push(session.step(true));
  const timings = await Promise.all(steps.map((s) => s.gpuDone));
  const wallMs = performance.now() - t0;
  session.dispose();

  const S = model.config.var.patchNums.length;
  const rows = model.config.var.patchNums.map((pn, s) => {
    const mine = steps.map((st, i) => ({ st, t: timings[i] })).filter(({ st }) => st.scale === s && st.kind !== 'decode');
    const gpuMs = mine.every(({ t }) => t.every((x) => x.ms !== undefined)) ? mine.reduce((a, { t }) => a + t.reduce((b, x) => b + (x.ms ?? 0), 0), 0) : undefined;
    const weightBytes = mine.reduce((a, { st }) => a + st.weightBytesRead, 0);
    const streamed = mine.reduce((a, { st }) => a + st.weightBytesStreamed, 0);
    return {
      scale: s, pn, tokens: pn * pn, dispatches: mine.reduce((a, { st }) => a + st.dispatches, 0), gpuMs, weightBytes,
      weightReadRatio: weightBytes / model.weightBytes.transformer, weightStreamRatio: streamed / model.weightBytes.transformer,
    };
  });
  const decodeStep = steps.findIndex((s) => s.kind === 'decode');
  const decodeMs = timings[decodeStep].every((x) => x.ms !== undefined) ? timings[decodeStep].reduce((a, x) => a + (x.ms ?? 0), 0) : undefined;
  const blockDispatches = steps.filter((s) => s.kind === 'blocks').reduce((a, s) => a + s.dispatches, 0) / (S * model.config.var.depth);

  const mb = (b: number) => (b / 2 ** 20).toFixed(1);
  console.log(`nextscale bench: ${name}, ${dtype} weights, batch ${labels.length}, ${real ? 'real GPU' : 'software adapter (SwiftShader): absolute times are not meaningful here'}`);
  console.log(`transformer weights ${mb(model.weightBytes.transformer)} MiB, all weights ${mb(model.weightBytes.total)} MiB`);
  console.log('scale  pn  tokens  dispatches  gpu ms   weights read (MiB)  x model  x model incl. tile re-reads');
  for (const r of rows) {
    console.log(`${String(r.scale).padStart(5)} ${String(r.pn).padStart(3)} ${String(r.tokens).padStart(7)} ${String(r.dispatches).padStart(11)} ${(r.gpuMs?.toFixed(2) ?? '-').padStart(7)} ${mb(r.weightBytes).padStart(19)} ${r.weightReadRatio.toFixed(2).padStart(8)} ${r.weightStreamRatio.toFixed(2).padStart(27)}`);
  }
  console.log(`decode: ${steps[decodeStep].dispatches} dispatches, ${decodeMs?.toFixed(2) ?? '-'} GPU ms`);
  console.log(`dispatches per block per scale: ${blockDispatches.toFixed(1)}; peak GPU memory allocated: ${mb(gpu.pool.stats.peakAllocatedBytes)} MiB; wall ${wallMs.toFixed(0)} ms`);
  console.log(JSON.stringify({
    bench: 'var-generate', model: name, dtype, batch: labels.length, realGpu: real,
    transformerBytes: model.weightBytes.transformer, weightBytes: model.weightBytes.total,
    scales: rows, decode: { dispatches: steps[decodeStep].dispatches, gpuMs: decodeMs },
    dispatchesPerBlockPerScale: blockDispatches, maxWeightReadRatio: Math.max(...rows.map((r) => r.weightReadRatio)),
    peakAllocatedBytes: gpu.pool.stats.peakAllocatedBytes, wallMs,
  }));
  model.dispose();
  gpu.destroy();
}

main().catch((e: Error) => {
  process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
