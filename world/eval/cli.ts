/**
 * Grades a unified model on the procedural texture world: prompts followed (colours and pattern,
 * held-out combinations counted apart), captions right, tokenizer reconstruction PSNR, time per
 * image. Prints a table, then the report as one JSON line.
 *
 *   npm run eval -- [--model models/builtin] [--prompts 200] [--captions 100] [--recon 50]
 *       [--clips 0] [--clip-frames 6] [--next-frame-top-k 1] [--seed 0] [--cfg 0] [--top-k 16] [--top-p 0.9]
 *       [--dtype f32|f16] [--quiet]
 *
 * --clips N plays N clip prompts (a texture and a motion) through the model's keyframe source (frame
 * by frame for a model trained on clips, else the feature path) and grades how they move against the
 * world's motion (world/eval/clip-grade.ts); --next-frame-top-k is the top-k of the finest scale of a frame
 * that continues the one before (runtime/video/unified-frames.ts).
 */
import { parseArgs } from 'node:util';
import { Gpu } from '../../runtime/gpu/index.ts';
import { evaluateWorld, formatWorldReport } from './world-eval.ts';
import { UNIFIED_SAMPLING } from '../../runtime/generate/unified-tasks.ts';
import { loadUnifiedFolder } from '../../runtime/models/unified/load.ts';
import { BUILTIN_MODEL } from '../../runtime/cli/builtin.ts';
import { parseDType } from '../../runtime/cli/model-args.ts';
import { NEXT_FRAME_TOP_K } from '../../runtime/video/keyframes.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: BUILTIN_MODEL },
      prompts: { type: 'string', default: '200' },
      captions: { type: 'string', default: '100' },
      recon: { type: 'string', default: '50' },
      clips: { type: 'string', default: '0' },
      'clip-frames': { type: 'string', default: '6' },
      'next-frame-top-k': { type: 'string', default: String(NEXT_FRAME_TOP_K) },
      seed: { type: 'string', default: '0' },
      cfg: { type: 'string', default: String(UNIFIED_SAMPLING.cfg) },
      'top-k': { type: 'string', default: String(UNIFIED_SAMPLING.topK) },
      'top-p': { type: 'string', default: String(UNIFIED_SAMPLING.topP) },
      dtype: { type: 'string', default: 'f32' },
      quiet: { type: 'boolean' },
    },
  });
  const count = (flag: string, text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${flag}: expected a whole number >= 0, found '${text}'`);
    return n;
  };
  const gpu = await Gpu.create();
  try {
    const model = await loadUnifiedFolder(gpu, values.model, { dtype: parseDType(values.dtype) });
    const report = await evaluateWorld(model, {
      prompts: count('prompts', values.prompts),
      captions: count('captions', values.captions),
      reconstructions: count('recon', values.recon),
      clips: count('clips', values.clips),
      clipFrames: count('clip-frames', values['clip-frames']),
      nextFrameTopK: count('next-frame-top-k', values['next-frame-top-k']),
      seed: count('seed', values.seed),
      cfg: Number(values.cfg),
      topK: count('top-k', values['top-k']),
      topP: Number(values['top-p']),
      onProgress: values.quiet ? undefined : (done, total, what) => process.stderr.write(`[${done}/${total}] ${what}\n`),
    });
    console.log(`model ${values.model} (${gpu.isSoftware ? 'software WebGPU: times are not GPU times' : 'hardware WebGPU'})`);
    console.log(formatWorldReport(report));
    console.log(JSON.stringify({ model: values.model, software: gpu.isSoftware, ...report }));
    model.dispose();
  } finally {
    gpu.destroy();
  }
}

main().catch((e: Error) => {
  process.stderr.write(`eval: ${e.message}\n`);
  process.exit(1);
});
