/**
 * `npm run bench -- --peer ort [--model DIR] [--peer-runs 3]`: nextscale side by side with ONNX Runtime
 * Web (its WebGPU execution provider, in Node, on nextscale's own GPUDevice) on the same two parts of a
 * unified model (default models/builtin):
 *   - transformer: the last generated scale's block (the built-in model's 16 x 16 = 256 tokens)
 *     attending to the KV cache of the prompt and the coarser scales, through to its image logits;
 *   - decoder: the VQVAE decoder, the generated image's f_hat to the image.
 * Both sides compute from the same weights and the same inputs (ONNX graphs built here from the model
 * folder, runtime/peer), so the largest absolute difference between their outputs checks each against
 * the other. Each part runs once to warm up (pipelines compiled, buffers allocated), then `runs` times;
 * a run is timed on the wall from the call to its output back on the host, which waits for the GPU the
 * same way on both sides. Prints the medians as a table, then one JSON line.
 */
import type { Gpu, Tensor } from '../gpu/index.ts';
import { imageSize } from '../models/unified/config.ts';
import type { UnifiedModel } from '../models/unified/model.ts';
import { decode } from '../models/vqvae/vqvae.ts';
import { decoderGraph } from '../peer/decoder-graph.ts';
import { loadOrt, ortRun, ortSession, type OrtSession } from '../peer/ort-node.ts';
import { unifiedScaleGraph } from '../peer/unified-graph.ts';
import { UnifiedScalePass } from '../peer/unified-scale.ts';

export interface PeerOptions {
  /** What the generation that supplies the inputs makes an image of. */
  prompt: string;
  /** Timed runs of each part after the warm-up (the median counts). */
  runs: number;
}

export interface PeerPart {
  part: 'transformer' | 'decoder';
  /** What the part computes, in words. */
  what: string;
  nextscaleMs: number;
  ortMs: number;
  /** ortMs / nextscaleMs: above 1, ORT is slower. */
  ratio: number;
  /** Largest |nextscale - ORT| over the part's output. */
  maxAbsDiff: number;
  /** Largest |nextscale| over the output, for scale. */
  maxAbs: number;
  nextscaleRunsMs: number[];
  ortRunsMs: number[];
  /** ORT session creation (graph optimisation and kernel set-up), ms. */
  ortSessionMs: number;
  /** Dispatches nextscale records for the part. */
  dispatches: number;
  /** Nodes of ORT's optimised graph per execution provider, from its log (e.g. { WebGpuExecutionProvider: 120 }). */
  placement: Record<string, number>;
  onnxBytes: number;
}

export interface PeerResult {
  ortVersion: string;
  parts: PeerPart[];
  /** Largest |logits| difference between the timed pass and the generating session's own logits of that scale. */
  sessionMaxAbsDiff: number;
}

/** Runs both parts on both sides; prints the table and the JSON line. */
export async function benchPeer(gpu: Gpu, model: UnifiedModel, name: string, options: PeerOptions): Promise<PeerResult> {
  const runs = options.runs;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--peer-runs: expected a whole number >= 1, found ${runs}`);
  const ort = await loadOrt(gpu.device);
  const pass = await UnifiedScalePass.prepare(model, options.prompt);
  try {
    const { vae } = model.config;
    const L = pass.pn * pass.pn;
    const P = pass.pn;
    const size = imageSize(model.config);

    const scaleOnnx = await unifiedScaleGraph(model, { s: pass.s, tokens: L, positions: pass.positions, past: await pass.past(), pastLength: pass.pastLength });
    const featuresHost = Float32Array.from(await gpu.read(pass.features));
    const scalePass = () => {
      const rec = gpu.recorder('peer transformer');
      const out = pass.record(rec);
      const { dispatches } = rec.submit();
      rec.dispose();
      return { out, dispatches };
    };
    const transformer = await comparePart(gpu, runs, {
      part: 'transformer',
      what: `scale ${pass.s} (${P}x${P} = ${L} tokens) over ${pass.pastLength} cached, to logits [${L}, ${vae.vocabSize}]`,
      nextscale: scalePass,
      onnx: scaleOnnx,
      ort: (session) => ortRun(ort, session, { features: { data: featuresHost, dims: [1, L, vae.zChannels] } }).then((o) => o.logits),
      session: () => ortSession(ort, gpu.device, scaleOnnx),
    });

    const sessionLogits = Float32Array.from(await gpu.read(pass.sessionLogits));
    const ownLogits = Float32Array.from(await gpu.read(scalePass().out));
    const sessionMaxAbsDiff = maxAbsDiff(ownLogits, sessionLogits);

    const image = gpu.tensor([1, 3, size, size], 'f32', 'peer.image');
    const decoderOnnx = await decoderGraph(gpu, model.decoder, P);
    const fHatHost = Float32Array.from(await gpu.read(pass.fHat));
    const decoder = await comparePart(gpu, runs, {
      part: 'decoder',
      what: `f_hat [${vae.zChannels}, ${P}, ${P}] to image [3, ${size}, ${size}] (${vae.padding} padding)`,
      nextscale: () => {
        const rec = gpu.recorder('peer decoder');
        decode(rec, gpu, model.decoder, pass.fHat, image);
        const { dispatches } = rec.submit();
        rec.dispose();
        return { out: image, dispatches };
      },
      onnx: decoderOnnx,
      ort: (session) => ortRun(ort, session, { f_hat: { data: fHatHost, dims: [1, vae.zChannels, P, P] } }).then((o) => o.image),
      session: () => ortSession(ort, gpu.device, decoderOnnx),
    });
    image.dispose();

    const result: PeerResult = { ortVersion: ort.env.versions.web ?? ort.env.versions.common, parts: [transformer, decoder], sessionMaxAbsDiff };
    print(gpu, model, name, runs, result);
    return result;
  } finally {
    pass.dispose();
  }
}

interface PartSpec {
  part: PeerPart['part'];
  what: string;
  /** Records and submits the part; returns its output tensor and the dispatches recorded. */
  nextscale: () => { out: Tensor; dispatches: number };
  onnx: Uint8Array;
  ort: (session: OrtSession['session']) => Promise<Float32Array>;
  session: () => Promise<OrtSession>;
}

/** Warm-up, then `runs` timed runs of each side (alternating); the outputs of the last runs are compared. */
async function comparePart(gpu: Gpu, runs: number, spec: PartSpec): Promise<PeerPart> {
  const t0 = performance.now();
  const { session, placement } = await spec.session();
  const ortSessionMs = performance.now() - t0;
  try {
    let dispatches = 0;
    const mine = async () => {
      const run = spec.nextscale();
      dispatches = run.dispatches;
      return Float32Array.from(await gpu.read(run.out));
    };
    let ours = await mine();
    let theirs = await spec.ort(session);
    const nextscaleRunsMs: number[] = [];
    const ortRunsMs: number[] = [];
    for (let r = 0; r < runs; r++) {
      let t = performance.now();
      ours = await mine();
      nextscaleRunsMs.push(performance.now() - t);
      t = performance.now();
      theirs = await spec.ort(session);
      ortRunsMs.push(performance.now() - t);
    }
    if (ours.length !== theirs.length) throw new Error(`peer ${spec.part}: nextscale gave ${ours.length} values, ORT ${theirs.length}`);
    const nextscaleMs = median(nextscaleRunsMs);
    const ortMs = median(ortRunsMs);
    return {
      part: spec.part, what: spec.what, nextscaleMs, ortMs, ratio: ortMs / nextscaleMs, maxAbsDiff: maxAbsDiff(ours, theirs),
      maxAbs: ours.reduce((m, x) => Math.max(m, Math.abs(x)), 0), nextscaleRunsMs, ortRunsMs, ortSessionMs, dispatches, placement, onnxBytes: spec.onnx.length,
    };
  } finally {
    await session.release();
  }
}

/** Largest |a - b|; NaN anywhere counts as infinitely far. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function print(gpu: Gpu, model: UnifiedModel, name: string, runs: number, r: PeerResult): void {
  const where = gpu.isSoftware ? ' (a software adapter: every time here is the CPU\'s, emulating a GPU; read the ratios)' : '';
  console.log(`peer: ${name} (${model.config.family}), ${model.dtype} weights, ${gpu.kernelStyle} kernels, ${gpu.adapterName}${where}`);
  console.log(`ONNX Runtime Web ${r.ortVersion}, its WebGPU execution provider on the same GPUDevice, in Node`);
  console.log(`timed: wall ms from the call to the output read back on the host (GPU work included), median of ${runs} after one warm-up`);
  console.log(`the timed pass against the generating session's own logits of that scale: max abs diff ${r.sessionMaxAbsDiff.toExponential(2)}\n`);
  console.log('| part | what | nextscale ms | ORT ms | ORT / nextscale | max abs diff | max abs output | nextscale dispatches | ORT nodes by execution provider |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const p of r.parts) {
    const nodes = Object.entries(p.placement).map(([ep, n]) => `${n} ${ep.replace(/ExecutionProvider$/, '')}`).join(' + ') || 'not logged';
    console.log(`| ${p.part} | ${p.what} | ${p.nextscaleMs.toFixed(1)} | ${p.ortMs.toFixed(1)} | ${p.ratio.toFixed(2)} | ${p.maxAbsDiff.toExponential(2)} | ${p.maxAbs.toPrecision(3)} | ${p.dispatches} | ${nodes} |`);
  }
  console.log(JSON.stringify({
    bench: 'peer', peer: 'ort', ortVersion: r.ortVersion, executionProvider: 'webgpu', model: name, family: model.config.family, dtype: model.dtype, kernelStyle: gpu.kernelStyle,
    adapter: gpu.adapterName, software: gpu.isSoftware, runs, sessionMaxAbsDiff: r.sessionMaxAbsDiff, parts: r.parts,
  }));
}
