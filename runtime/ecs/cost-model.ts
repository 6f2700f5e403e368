/**
 * What a unit of work costs in GPU milliseconds, learned from measurements: an exponential moving
 * average per (model, unit kind, scale), and per (model, unit kind) over all scales as the fallback for
 * a scale not measured yet; a prior for a kind never measured at all. The scheduler fills each frame's
 * budget with these estimates.
 *
 * Keys are numbers, (model · 4 + kind) · 1024 + scale + 1, so estimating allocates nothing.
 */
import type { StepKind } from '../generate/steps.ts';

const KINDS: readonly StepKind[] = ['condition', 'blocks', 'sample', 'decode'];
const MAX_SCALE = 1022;

export interface CostModel {
  /** Weight of a new measurement in the moving averages (0..1]. */
  alpha: number;
  /** Estimate for a kind never measured on a model, in ms. */
  priorMs: number;
  /** EMA by (model, kind, scale). */
  readonly byScale: Map<number, number>;
  /** EMA by (model, kind), over every scale. */
  readonly byKind: Map<number, number>;
  /** Measurements taken so far. */
  samples: number;
}

/**
 * An empty cost model.
 *
 * @example
 *   const costs = createCostModel(1);
 *   estimateCost(costs, 1, 'blocks', 3); // 1 (the prior)
 *   observeCost(costs, 1, 'blocks', 0, 0.4);
 *   estimateCost(costs, 1, 'blocks', 3); // 0.4 (the kind's average: scale 3 not measured yet)
 */
export function createCostModel(priorMs = 1, alpha = 0.3): CostModel {
  return { alpha, priorMs, byScale: new Map(), byKind: new Map(), samples: 0 };
}

/** Feeds one measurement (ms of GPU time for a unit); non-finite or negative values are ignored. */
export function observeCost(costs: CostModel, model: number, kind: StepKind, scale: number, ms: number): void {
  if (!Number.isFinite(ms) || ms < 0) return;
  const kindKey = kindKeyOf(model, kind);
  const scaleKey = kindKey * 1024 + clampScale(scale) + 1;
  costs.byScale.set(scaleKey, ema(costs.byScale.get(scaleKey), ms, costs.alpha));
  costs.byKind.set(kindKey, ema(costs.byKind.get(kindKey), ms, costs.alpha));
  costs.samples++;
}

/** Estimated ms for a unit: the scale's average, else the kind's, else the prior. */
export function estimateCost(costs: CostModel, model: number, kind: StepKind, scale: number): number {
  const kindKey = kindKeyOf(model, kind);
  return costs.byScale.get(kindKey * 1024 + clampScale(scale) + 1) ?? costs.byKind.get(kindKey) ?? costs.priorMs;
}

/** Forgets a model's measurements (when it is unloaded). */
export function forgetModelCosts(costs: CostModel, model: number): void {
  for (let k = 0; k < KINDS.length; k++) {
    const kindKey = model * KINDS.length + k;
    costs.byKind.delete(kindKey);
    for (const key of costs.byScale.keys()) if (Math.floor(key / 1024) === kindKey) costs.byScale.delete(key);
  }
}

function kindKeyOf(model: number, kind: StepKind): number {
  return model * KINDS.length + KINDS.indexOf(kind);
}

function clampScale(scale: number): number {
  return Math.max(-1, Math.min(scale, MAX_SCALE));
}

function ema(old: number | undefined, x: number, alpha: number): number {
  return old === undefined ? x : old + alpha * (x - old);
}
