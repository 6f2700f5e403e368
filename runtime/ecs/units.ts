/**
 * The bookkeeping of a submitted unit of work: frame statistics now, its measured cost when the GPU
 * reports it done. Nothing here waits; measurements arrive through `.then`.
 *
 * Measuring: with timestamp queries, a unit's cost is the GPU time of its passes. Without them, it is
 * wall time up to the moment the queue reports the unit done, counted from its submit or from when the
 * previous unit completed, whichever is later (units run in submission order). That is still an
 * over-estimate when other work shares the queue (a scene's rendering) and coarse when completions are
 * noticed in batches, which the moving average smooths.
 */
import type { StepInfo } from '../generate/steps.ts';
import { observeCost } from './cost-model.ts';
import type { Engine } from './engine.ts';

/**
 * Counts a submitted unit into this frame's statistics and, when the GPU reports it done, feeds its
 * cost to the model's cost estimates and its time to its frame's measured total. Decodes are keyed by
 * the last scale whatever scale they preview: the work is the same.
 */
export function trackUnit(engine: Engine, model: number, scales: number, info: StepInfo, estimateMs: number): void {
  const stats = engine.stats;
  stats.units++;
  stats.dispatches += info.dispatches;
  stats.estimatedMs += estimateMs;
  const frame = engine.time.frame;
  let acc = engine.inFlight.get(frame);
  if (!acc) engine.inFlight.set(frame, (acc = { units: 0, ms: 0 }));
  acc.units++;
  const submittedAt = performance.now();
  const finish = (ms: number) => {
    acc.ms += ms;
    if (--acc.units > 0) return;
    engine.inFlight.delete(frame);
    if (frame > stats.measuredFrame) {
      stats.measuredFrame = frame;
      stats.measuredMs = acc.ms;
    }
  };
  info.gpuDone.then(
    (sections) => {
      const end = performance.now();
      const timed = sections.length > 0 && sections.every((s) => s.ms !== undefined);
      const ms = timed ? sections.reduce((sum, s) => sum + s.ms!, 0) : end - Math.max(submittedAt, engine.gpuIdleAt);
      engine.gpuIdleAt = Math.max(engine.gpuIdleAt, end);
      observeCost(engine.costs, model, info.kind, info.kind === 'decode' ? scales : info.scale, ms);
      finish(ms);
    },
    () => finish(0),
  );
}
