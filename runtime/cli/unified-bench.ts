/**
 * npm run bench -- --model UNIFIED_DIR: the unified family measured as the tools use it.
 *
 * 1. Text to image, unguided as `UNIFIED_SAMPLING` (or `--cfg`): per scale, the tokens, dispatches, GPU
 *    time (timestamp queries), and weights read against the transformer's size; the decode; and the
 *    read-backs before the image is read (0: nothing comes back between scales).
 * 2. Captioning a world texture, greedily as `npm run eval` does: the encode and the prefill of its full
 *    view, then per generated token the dispatches and GPU time, and the read-backs (the ids come back
 *    in chunks beside the steps).
 * 3. Variations: `--variations N` images of the prompt in one batch against N times one image, in GPU
 *    time and dispatches (the batch shares every dispatch and every read of the weights).
 *
 * Each is run once to compile its pipelines and fill the buffer pool, then measured. Prints one table
 * per part, then one JSON line. On a software adapter read the counts and the ratios between kernel
 * styles (`--kernels workgroup|direct`), not the times as a GPU's.
 */
import type { Gpu } from '../gpu/index.ts';
import { UnifiedSession } from '../generate/unified-session.ts';
import { UNIFIED_SAMPLING } from '../generate/unified-tasks.ts';
import type { UnifiedStepInfo } from '../generate/steps.ts';
import type { UnifiedModel } from '../models/unified/model.ts';
import { caption, render, rgbToRgba, Rng, sampleSpec } from '../../world/index.ts';

export interface UnifiedBenchOptions {
  prompt: string;
  cfg: number;
  /** Images of the variations run. */
  variations: number;
}

interface Measured {
  steps: UnifiedStepInfo[];
  ms: (number | undefined)[];
  readbacks: number;
  wallMs: number;
}

/** Steps the session to the end with timing, awaiting only what the session itself waits on. */
async function measure(gpu: Gpu, session: UnifiedSession, finish: () => Promise<unknown>): Promise<Measured> {
  const steps: UnifiedStepInfo[] = [];
  const before = gpu.readbacks.count;
  const t0 = performance.now();
  await session.run({ timing: true, onStep: (info) => steps.push(info) });
  const readbacks = gpu.readbacks.count - before;
  await finish();
  const wallMs = performance.now() - t0;
  const timings = await Promise.all(steps.map((s) => s.gpuDone));
  const ms = timings.map((t) => (t.every((x) => x.ms !== undefined) ? t.reduce((a, x) => a + (x.ms ?? 0), 0) : undefined));
  return { steps, ms, readbacks, wallMs };
}

const sum = (xs: (number | undefined)[]) => (xs.every((x) => x !== undefined) ? xs.reduce((a: number, x) => a + (x ?? 0), 0) : undefined);
const fmt = (ms: number | undefined) => ms?.toFixed(2) ?? '-';
const mb = (b: number) => (b / 2 ** 20).toFixed(2);

async function textToImageRun(model: UnifiedModel, o: UnifiedBenchOptions, batch = 1): Promise<Measured> {
  const session = new UnifiedSession(model, { guidance: o.cfg > 0, batch });
  try {
    session.appendText(o.prompt);
    const job = session.generateImage({ ...UNIFIED_SAMPLING, cfg: o.cfg, seed: 1 });
    return await measure(model.gpu, session, () => job.readImage());
  } finally {
    session.dispose();
  }
}

async function captionRun(model: UnifiedModel, image: Uint8ClampedArray): Promise<Measured & { tokens: number }> {
  const session = new UnifiedSession(model, { guidance: false });
  try {
    const size = model.imageSize;
    session.appendImage({ data: image, width: size, height: size }, { view: model.config.unified.captionView });
    const job = session.generateText({ maxTokens: 24, topK: 1 });
    const m = await measure(model.gpu, session, () => job.ids);
    return { ...m, tokens: (await job.ids).length };
  } finally {
    session.dispose();
  }
}

export async function benchUnified(gpu: Gpu, model: UnifiedModel, name: string, o: UnifiedBenchOptions): Promise<void> {
  const { patchNums } = model.config.unified;
  const size = model.imageSize;
  const texture = sampleSpec(new Rng(3), 'train');
  const image = rgbToRgba(render(texture, size, 3));
  // Warm-up: every pipeline compiled, the pool filled.
  await textToImageRun(model, o);
  await captionRun(model, image);
  await textToImageRun(model, o, o.variations);

  const t2i = await textToImageRun(model, o);
  const scales = patchNums.map((pn) => ({ pn, tokens: pn * pn, dispatches: 0, ms: [] as (number | undefined)[], weightBytes: 0 }));
  let scale = 0;
  const decode = { dispatches: 0, ms: [] as (number | undefined)[] };
  const prompt = { dispatches: 0, ms: [] as (number | undefined)[] };
  t2i.steps.forEach((st, i) => {
    if (st.kind === 'decode') {
      decode.dispatches += st.dispatches;
      decode.ms.push(t2i.ms[i]);
    } else if (st.kind === 'prefill') {
      prompt.dispatches += st.dispatches;
      prompt.ms.push(t2i.ms[i]);
    } else {
      const row = scales[scale];
      row.dispatches += st.dispatches;
      row.ms.push(t2i.ms[i]);
      row.weightBytes += st.weightBytesRead;
      if (st.kind === 'sample') scale++;
    }
  });
  const transformerBytes = model.weightBytes.transformer;
  const scaleRows = scales.map((r, s) => ({ scale: s, pn: r.pn, tokens: r.tokens, dispatches: r.dispatches, gpuMs: sum(r.ms), weightReadRatio: r.weightBytes / transformerBytes }));

  const cap = await captionRun(model, image);
  const read = { dispatches: 0, ms: [] as (number | undefined)[] };
  const text = { dispatches: 0, ms: [] as (number | undefined)[], steps: 0 };
  cap.steps.forEach((st, i) => {
    if (st.kind === 'text') {
      text.dispatches += st.dispatches;
      text.ms.push(cap.ms[i]);
      text.steps++;
    } else if (st.kind !== 'wait') {
      read.dispatches += st.dispatches;
      read.ms.push(cap.ms[i]);
    }
  });

  const batched = await textToImageRun(model, o, o.variations);
  const singleMs = sum(t2i.ms);
  const batchMs = sum(batched.ms);
  const dispatches = (m: Measured) => m.steps.reduce((n, s) => n + s.dispatches, 0);
  const decodeMs = (m: Measured) => sum(m.ms.filter((_, i) => m.steps[i].kind === 'decode'));
  const ratio = (batch: number | undefined, one: number | undefined) => (batch === undefined || one === undefined ? undefined : batch / (o.variations * one));
  const [batchDecode, singleDecode] = [decodeMs(batched), decodeMs(t2i)];
  const variations = {
    images: o.variations, gpuMs: batchMs, dispatches: dispatches(batched), singleGpuMs: singleMs, singleDispatches: dispatches(t2i),
    ratio: ratio(batchMs, singleMs),
    transformerRatio: ratio(batchMs === undefined || batchDecode === undefined ? undefined : batchMs - batchDecode, singleMs === undefined || singleDecode === undefined ? undefined : singleMs - singleDecode),
    decodeRatio: ratio(batchDecode, singleDecode),
  };

  const real = !gpu.isSoftware;
  console.log(`nextscale bench: ${name} (unified), ${model.dtype} weights, ${gpu.kernelStyle} kernels, ${real ? 'real GPU' : 'software adapter: read the counts and the ratios between kernel styles, not the times'}`);
  console.log(`transformer weights ${mb(transformerBytes)} MiB, all weights ${mb(model.weightBytes.total)} MiB`);
  console.log(`text to image "${o.prompt}" (cfg ${o.cfg}):`);
  console.log('scale  pn  tokens  dispatches   gpu ms  weights read x model');
  for (const r of scaleRows) {
    console.log(`${String(r.scale).padStart(5)} ${String(r.pn).padStart(3)} ${String(r.tokens).padStart(7)} ${String(r.dispatches).padStart(11)} ${fmt(r.gpuMs).padStart(8)} ${r.weightReadRatio.toFixed(2).padStart(21)}`);
  }
  console.log(`prompt: ${prompt.dispatches} dispatches, ${fmt(sum(prompt.ms))} GPU ms; decode: ${decode.dispatches} dispatches, ${fmt(sum(decode.ms))} GPU ms`);
  console.log(`image: ${fmt(sum(t2i.ms))} GPU ms, wall ${t2i.wallMs.toFixed(0)} ms, read-backs before the image: ${t2i.readbacks}`);
  console.log(`caption of "${caption(texture)}": ${cap.tokens} tokens kept of ${text.steps} token steps (those recorded past <eos> before its read-back are undone)`);
  console.log(`  encode and prefill: ${read.dispatches} dispatches, ${fmt(sum(read.ms))} GPU ms`);
  console.log(`  per token step: ${(text.dispatches / text.steps).toFixed(1)} dispatches, ${fmt(sum(text.ms) !== undefined ? sum(text.ms)! / text.steps : undefined)} GPU ms; read-backs ${cap.readbacks}; wall ${cap.wallMs.toFixed(0)} ms`);
  console.log(`variations: ${o.variations} images in one batch ${fmt(batchMs)} GPU ms, ${variations.dispatches} dispatches; one image ${fmt(singleMs)} GPU ms, ${variations.singleDispatches} dispatches; batch / ${o.variations} single = ${variations.ratio?.toFixed(2) ?? '-'} (transformer ${variations.transformerRatio?.toFixed(2) ?? '-'}, decode ${variations.decodeRatio?.toFixed(2) ?? '-'})`);
  console.log(JSON.stringify({
    bench: 'unified', model: name, dtype: model.dtype, kernelStyle: gpu.kernelStyle, realGpu: real, transformerBytes, weightBytes: model.weightBytes.total,
    textToImage: { text: o.prompt, cfg: o.cfg, scales: scaleRows, prompt: { dispatches: prompt.dispatches, gpuMs: sum(prompt.ms) }, decode: { dispatches: decode.dispatches, gpuMs: sum(decode.ms) }, gpuMs: sum(t2i.ms), wallMs: t2i.wallMs, readbacks: t2i.readbacks },
    caption: { tokens: cap.tokens, tokenSteps: text.steps, prefill: { dispatches: read.dispatches, gpuMs: sum(read.ms) }, perTokenStep: { dispatches: text.dispatches / text.steps, gpuMs: sum(text.ms) === undefined ? undefined : sum(text.ms)! / text.steps }, readbacks: cap.readbacks, wallMs: cap.wallMs },
    variations,
    peakAllocatedBytes: gpu.pool.stats.peakAllocatedBytes,
  }));
}
