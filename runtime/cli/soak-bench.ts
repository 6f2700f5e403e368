/**
 * `npm run bench -- --soak N [--model DIR]`: N generations through the engine, one after another, with
 * material maps on, the generation removed and added again every tenth time (so its textures are made
 * and destroyed too). Prints the buffer pool, the pipeline cache, the live textures and the process's
 * memory after the first generation and at every tenth of the run, then one JSON line: a runtime that
 * leaks shows it as numbers that keep growing.
 */
import { addGeneration, addModel, createEngine, disposeEngine, getProgress, removeGeneration, runFrame, setGenerationSettings } from '../ecs/index.ts';
import type { Gpu } from '../gpu/index.ts';
import type { AnyModel } from '../models/load.ts';

interface SoakRow {
  generations: number;
  buffersCreated: number;
  poolMb: number;
  buffersInUse: number;
  pipelines: number;
  textures: number;
  rssMb: number;
}

export async function benchSoak(gpu: Gpu, model: AnyModel, name: string, count: number): Promise<void> {
  if (!Number.isInteger(count) || count < 1) throw new Error(`--soak: expected a whole number of generations >= 1, found ${count}`);
  const engine = createEngine(gpu, { budgetMs: Infinity, timing: false });
  const id = addModel(engine, model);
  const what = model.config.family === 'unified' ? { prompt: 'red and blue checker, fine' } : { classLabel: 3 };
  const add = (seed: number) => addGeneration(engine, { model: id, ...what, seed, material: true });
  let eid = add(0);
  let clock = 0;
  const rows: SoakRow[] = [];
  const row = (generations: number): SoakRow => ({
    generations,
    buffersCreated: gpu.pool.stats.created,
    poolMb: gpu.pool.stats.allocatedBytes / 1e6,
    buffersInUse: gpu.pool.stats.inUse,
    pipelines: gpu.pipelines.stats.misses,
    textures: engine.textures.size + 3 * engine.materials.size,
    rssMb: process.memoryUsage().rss / 1e6,
  });
  const started = performance.now();
  for (let i = 1; i <= count; i++) {
    if (i > 1) {
      if (i % 10 === 0) {
        removeGeneration(engine, eid);
        eid = add(i);
      } else setGenerationSettings(engine, eid, { seed: i });
    }
    do {
      runFrame(engine, (clock += 16));
      await gpu.device.queue.onSubmittedWorkDone();
    } while (getProgress(engine, eid).state === 'running' || getProgress(engine, eid).state === 'idle');
    const p = getProgress(engine, eid);
    if (p.state !== 'done') throw new Error(`soak: generation ${i} ended ${p.state}${p.error ? `: ${p.error}` : ''}`);
    if (i === 1 || i % Math.max(1, Math.floor(count / 10)) === 0 || i === count) rows.push(row(i));
  }
  const seconds = (performance.now() - started) / 1000;
  disposeEngine(engine);
  console.log(`soak: ${count} generations of ${name} with material maps in ${seconds.toFixed(0)} s (${gpu.adapterName})\n`);
  console.log('| generations | buffers created | pool MB | buffers in use | pipelines | textures | process MB |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.generations} | ${r.buffersCreated} | ${r.poolMb.toFixed(1)} | ${r.buffersInUse} | ${r.pipelines} | ${r.textures} | ${r.rssMb.toFixed(0)} |`);
  // After the first tenth (every path taken once, the textures' remove-and-add included) nothing may grow.
  const [first, last] = [rows[Math.min(1, rows.length - 1)], rows[rows.length - 1]];
  const flat = last.buffersCreated === first.buffersCreated && last.pipelines === first.pipelines && last.textures === first.textures && last.buffersInUse === first.buffersInUse;
  console.log(`\n${JSON.stringify({ soak: count, model: name, seconds: Math.round(seconds), flat, first, last })}`);
}
