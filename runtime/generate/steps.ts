/**
 * Units of work, as both families' sessions record and submit them one `step()` at a time: what a
 * unit was, and what it cost. The engine schedules by these kinds, the benches count them, and video
 * sources pass them on.
 */
import type { SectionTiming } from '../gpu/index.ts';

/** A VAR session's units: condition → [blocks… → sample] per scale → decode. */
export type StepKind = 'condition' | 'blocks' | 'sample' | 'decode';

/** A unified session's units; `wait` records nothing (a text chunk's read-back is still in flight). */
export type UnifiedStepKind = 'prefill' | 'blocks' | 'sample' | 'decode' | 'encode' | 'text' | 'wait';

/** What any unit recorded and submitted. */
export interface SubmittedStep {
  dispatches: number;
  /** Bytes of weights the step's kernels bind, and stream counting tile re-reads (see Recorder). */
  weightBytesRead: number;
  weightBytesStreamed: number;
  /** Resolves when the GPU finished the step (with its GPU time where timestamps exist). */
  gpuDone: Promise<SectionTiming[]>;
}

/** What `VarSession.step()` recorded and submitted. */
export interface StepInfo extends SubmittedStep {
  kind: StepKind;
  /** The scale the step worked on (-1 for condition, S for decode). */
  scale: number;
}

/** What `UnifiedSession.step()` recorded and submitted. */
export interface UnifiedStepInfo extends SubmittedStep {
  kind: UnifiedStepKind;
}

/**
 * The unit sequence of an image generation, in the schedule's terms: conditioning units (VAR's one; a
 * unified model's passes over its prompt, each in `blocksUnits` units), then per scale `blocksUnits`
 * units of transformer blocks and a sample, then the decode.
 */
export interface UnitPlan {
  conditionUnits: number;
  /** Blocks units per scale. */
  blocksUnits: number;
  scales: number;
}

/** One unit of a plan: its kind and scale, which are also what its cost is estimated by. */
export interface PlannedUnit {
  kind: StepKind;
  /** As `StepInfo.scale`: -1 for conditioning, S for the decode. */
  scale: number;
}

/** Units in a plan. */
export function planLength(plan: UnitPlan): number {
  return plan.conditionUnits + plan.scales * (plan.blocksUnits + 1) + 1;
}

/** Unit number `i` (0-based) of a plan. */
export function plannedUnit(plan: UnitPlan, i: number): PlannedUnit {
  if (i < plan.conditionUnits) return { kind: 'condition', scale: -1 };
  const j = i - plan.conditionUnits;
  if (j >= plan.scales * (plan.blocksUnits + 1)) return { kind: 'decode', scale: plan.scales };
  return { kind: j % (plan.blocksUnits + 1) < plan.blocksUnits ? 'blocks' : 'sample', scale: Math.floor(j / (plan.blocksUnits + 1)) };
}
