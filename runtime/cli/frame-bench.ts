/**
 * `npm run bench -- --frame [--model DIR]`: the engine's own cost per frame. With 1 and with 16 live
 * generations (a gallery's worth), frames run until every generation is done; each frame's CPU time in
 * `runFrame` (the systems, recording the units and submitting them) is kept. Then one generation's seed
 * changes, and the frames and milliseconds until its first preview is written are counted. Each frame
 * waits for the GPU after `runFrame` returns (as a display's frame would), so the CPU times are the
 * engine's alone. A first run, not counted, compiles the pipelines. Prints one table, then one JSON line.
 */
import { addGeneration, addModel, createEngine, disposeEngine, getProgress, runFrame, setGenerationSettings, setTextureListener } from '../ecs/index.ts';
import type { Gpu } from '../gpu/index.ts';
import type { AnyModel } from '../models/load.ts';

interface FrameRow {
  generations: number;
  frames: number;
  cpuMs: { mean: number; median: number; p95: number; max: number };
  /** From a settings change to the first preview of the changed generation. */
  toPreview: { frames: number; ms: number };
}

const FRAME_MS = 1000 / 60;

export async function benchFrame(gpu: Gpu, model: AnyModel, name: string, budgetMs: number, counts: readonly number[] = [1, 16]): Promise<FrameRow[]> {
  // A first run compiles every pipeline and fills the buffer pool: what a scene pays once, not per frame.
  await measure(gpu, model, 1, budgetMs);
  const rows: FrameRow[] = [];
  for (const count of counts) rows.push(await measure(gpu, model, count, budgetMs));
  console.log(`frame cost: ${name}, budget ${budgetMs} GPU ms a frame, ${gpu.adapterName}${gpu.isSoftware ? ' (software: the GPU side is slow, the CPU times are the engine\'s own)' : ''}\n`);
  console.log('| generations | frames | CPU ms per frame: mean | median | p95 | max | change → first preview |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const c = r.cpuMs;
    console.log(`| ${r.generations} | ${r.frames} | ${c.mean.toFixed(3)} | ${c.median.toFixed(3)} | ${c.p95.toFixed(3)} | ${c.max.toFixed(3)} | ${r.toPreview.frames} frames, ${r.toPreview.ms.toFixed(0)} ms |`);
  }
  console.log(JSON.stringify({ bench: 'frame', model: name, budgetMs, adapter: gpu.adapterName, software: gpu.isSoftware, rows }));
  return rows;
}

async function measure(gpu: Gpu, model: AnyModel, count: number, budgetMs: number): Promise<FrameRow> {
  const engine = createEngine(gpu, { budgetMs });
  try {
    const id = addModel(engine, model);
    const what = model.config.family === 'unified' ? { prompt: 'red and blue checker, fine' } : { classLabel: 3 };
    const eids = Array.from({ length: count }, (_, i) => addGeneration(engine, { model: id, ...what, seed: i, visible: true }));
    let written = -1;
    setTextureListener(engine, (eid, _texture, change) => {
      if (change === 'written' && eid === eids[0]) written = engine.time.frame;
    });
    let clock = 0;
    const frame = async () => {
      runFrame(engine, (clock += FRAME_MS));
      await gpu.device.queue.onSubmittedWorkDone();
      return engine.stats.cpuMs;
    };
    const running = () => eids.some((e) => ['idle', 'running'].includes(getProgress(engine, e).state));
    const cpu: number[] = [];
    while (running()) cpu.push(await frame());
    for (const e of eids) if (getProgress(engine, e).state !== 'done') throw new Error(`frame bench: generation ${e} ended ${getProgress(engine, e).state}`);
    setGenerationSettings(engine, eids[0], { seed: 1000 });
    written = -1;
    const changed = engine.time.frame;
    const started = performance.now();
    for (let n = 0; written < 0; n++) {
      if (n > 100_000) throw new Error('frame bench: no preview of the changed generation after 100,000 frames');
      cpu.push(await frame());
    }
    const toPreview = { frames: written - changed, ms: performance.now() - started };
    const sorted = [...cpu].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    return {
      generations: count,
      frames: cpu.length,
      cpuMs: { mean: cpu.reduce((a, b) => a + b, 0) / cpu.length, median: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] },
      toPreview,
    };
  } finally {
    disposeEngine(engine);
  }
}
