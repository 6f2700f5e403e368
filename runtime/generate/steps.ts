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
