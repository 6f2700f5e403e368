/**
 * The keyframe source a model's family calls for: VAR's, a unified model's text to image keyframes, or,
 * for a unified model trained on clips, keyframes that each continue from the one before.
 */
import { UnifiedModel } from '../models/unified/model.ts';
import type { VarModel } from '../models/var/model.ts';
import type { KeyframeSource } from './keyframes.ts';
import { unifiedFrameSource } from './unified-frames.ts';
import { unifiedKeyframeSource } from './unified-keyframes.ts';
import { varKeyframeSource } from './var-keyframes.ts';

/** Frames per keyframe that suit a model: every frame generated when it continues clips, else a keyframe every 8. */
export function defaultKeyframeEvery(model: VarModel | UnifiedModel): number {
  return model instanceof UnifiedModel && model.config.unified.frameConditioned ? 1 : 8;
}

/** The model family's keyframe source (`blocksPerStep`: transformer blocks per step, the schedule's grain). */
export function familyKeyframeSource(model: VarModel | UnifiedModel, options: { blocksPerStep?: number } = {}): KeyframeSource {
  if (!(model instanceof UnifiedModel)) return varKeyframeSource(model, options);
  return model.config.unified.frameConditioned ? unifiedFrameSource(model, options) : unifiedKeyframeSource(model, options);
}
