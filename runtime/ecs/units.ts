/**
 * Units of work: which unit a session runs next (so the scheduler can price a frame's units before
 * running them), and the bookkeeping of a submitted unit: frame statistics now, its measured cost when
 * the GPU reports it done. Nothing here waits; measurements arrive through `.then`.
 *
 * Measuring: with timestamp queries, a unit's cost is the GPU time of its passes. Without them, it is
 * wall time up to the moment the queue reports the unit done, counted from its submit or from when the
 * previous unit completed, whichever is later (units run in submission order). That is still an
 * over-estimate when other work shares the queue (a scene's rendering) and coarse when completions are
 * noticed in batches, which the moving average smooths.
 */
import type { StepInfo, StepKind } from '../generate/steps.ts';
import { observeCost } from './cost-model.ts';
import type { Engine } from './world.ts';

/**
 * The unit sequence of a session: conditioning units (VAR's one; a unified model's passes over its
 * prompt), then per scale ⌈depth / perUnit⌉ blocks units and a sample, then decode.
 */
export interface UnitPlan {
  conditionUnits: number;
  /** Blocks units per scale. */
  blocksUnits: number;
  scales: number;
}

/** Kind of the session's unit number `i` (0-based). */
export function unitKind(plan: UnitPlan, i: number): StepKind {
  if (i < plan.conditionUnits) return 'condition';
  const j = i - plan.conditionUnits;
  if (j >= plan.scales * (plan.blocksUnits + 1)) return 'decode';
  return j % (plan.blocksUnits + 1) < plan.blocksUnits ? 'blocks' : 'sample';
}

/** Scale of the session's unit number `i`, numbered as `StepInfo.scale` (-1: condition, S: decode). */
export function unitScale(plan: UnitPlan, i: number): number {
  if (i < plan.conditionUnits) return -1;
  return Math.min(Math.floor((i - plan.conditionUnits) / (plan.blocksUnits + 1)), plan.scales);
}

/**
 * Counts a submitted unit into this frame's statistics and, when the GPU reports it done, feeds its
 * cost to the model's cost estimates and its time to its frame's measured total. Decodes are keyed by
 * the last scale whatever scale they preview: the work is the same.
 */
export function trackUnit(world: Engine, model: number, scales: number, info: StepInfo, estimateMs: number): void {
  const stats = world.stats;
  stats.units++;
  stats.dispatches += info.dispatches;
  stats.estimatedMs += estimateMs;
  const frame = world.time.frame;
  let acc = world.inFlight.get(frame);
  if (!acc) world.inFlight.set(frame, (acc = { units: 0, ms: 0 }));
  acc.units++;
  const submittedAt = performance.now();
  const finish = (ms: number) => {
    acc.ms += ms;
    if (--acc.units > 0) return;
    world.inFlight.delete(frame);
    if (frame > stats.measuredFrame) {
      stats.measuredFrame = frame;
      stats.measuredMs = acc.ms;
    }
  };
  info.gpuDone.then(
    (sections) => {
      const end = performance.now();
      const timed = sections.length > 0 && sections.every((s) => s.ms !== undefined);
      const ms = timed ? sections.reduce((sum, s) => sum + s.ms!, 0) : end - Math.max(submittedAt, world.gpuIdleAt);
      world.gpuIdleAt = Math.max(world.gpuIdleAt, end);
      observeCost(world.costs, model, info.kind, info.kind === 'decode' ? scales : info.scale, ms);
      finish(ms);
    },
    () => finish(0),
  );
}
