/**
 * Video playback in feature space, for any model family: keyframe sources, the feature path that
 * blends and decodes keyframes' features, the frame ring on the GPU, and the timeline arithmetic.
 * The engine plays videos with these (runtime/ecs/video-system.ts); tools use the path directly.
 */
export { FeaturePath, keyframeSlots, type FeaturePathOptions, type KeyframeSettingsOf } from './feature-path.ts';
export { FrameRing, type FrameRingOptions } from './frame-ring.ts';
export { keyframeSeed, NEXT_FRAME_TOP_K, type KeyframeSession, type KeyframeSettings, type KeyframeSource, type KeyframeUnit } from './keyframes.ts';
export { advance, checkTimeline, frameAfter, readyAhead, segmentOf, stepsAhead, wrapPosition, type Advance, type Segment, type Timeline } from './timeline.ts';
export { varKeyframeSource, type VarKeyframeOptions } from './var-keyframes.ts';
export { unifiedKeyframeSource, type UnifiedKeyframeOptions } from './unified-keyframes.ts';
export { unifiedFrameSource } from './unified-frames.ts';
export { defaultKeyframeEvery, familyKeyframeSource } from './sources.ts';
export { clipFrames, type ClipPlayOptions } from './clip-frames.ts';
export { BLEND_MODES, type BlendMode } from '../kernels/feature-slerp.ts';
