import type { Recorder, Tensor } from '../gpu/index.ts';

/** The debug hook of every model: a named intermediate at its point of recording (see runtime/generate/taps.ts). */
export type Tap = (rec: Recorder, name: string, t: Tensor) => void;
