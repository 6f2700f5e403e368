/**
 * nextscale's engine: generations and videos as bitECS entities, scheduled into each frame's GPU budget
 * by plain systems. Everything public is a free function on the engine.
 *
 * @example
 *   const engine = createEngine(gpu, { budgetMs: 4 });
 *   const model = addModel(engine, await loadVarFolder(gpu, url));
 *   setTextureListener(engine, (eid, texture, change) => (change === "removed" ? scene.setTexture(eid, undefined) : change === "created" ? scene.setTexture(eid, texture) : scene.textureWritten(eid)));
 *   const eid = addGeneration(engine, { model, classLabel: 3, seed: 7 });
 *   const loop = (t: number) => { runFrame(engine, t); renderer.render(scene, camera); requestAnimationFrame(loop); };
 *   requestAnimationFrame(loop);
 *   getProgress(engine, eid); // { state: 'running', scale: 2, scales: 10, unit: 40, units: 172 }
 *
 *   const video = addVideo(engine, { model, classLabel: 3, seed: 7, frames: 48, keyframeEvery: 8 });
 *   getVideoStatus(engine, video); // { state: 'playing', frame: 5, shown: 5, buffered: 8, stalls: 0, frames: 48, preview: false }
 */
export {
  GenerationState,
  STATE_NAMES,
  VIDEO_STATE_NAMES,
  VideoDirty,
  VideoState,
  type GenerationComponent,
  type GenerationStateName,
  type SamplingSettings,
  type VideoStateName,
  type VideoStreamComponent,
} from './components.ts';
export { createCostModel, estimateCost, observeCost, type CostModel } from './cost-model.ts';
export {
  addGeneration,
  getGenerationSettings,
  getProgress,
  getSession,
  getTexture,
  removeGeneration,
  restartGeneration,
  setGenerationSettings,
  type GenerationSettings,
  type Progress,
} from './generations.ts';
export { previewSystem, runFrame, scheduleSystem, settingsSystem, stepSystem, SYSTEMS, textureSystem } from './systems.ts';
export { createGeneration, type Conditioning, type ImageGeneration } from '../generate/generation.ts';
export { videoSystem } from './video-system.ts';
export {
  addVideo,
  getVideoPlayback,
  getVideoSettings,
  getVideoStatus,
  pauseVideo,
  playVideo,
  removeVideo,
  seekVideo,
  setVideoSettings,
  type VideoPlayback,
  type VideoSettings,
  type VideoStatus,
} from './videos.ts';
export {
  addModel,
  createEngine,
  disposeEngine,
  getFrameStats,
  removeModel,
  setBudget,
  setMaterialListener,
  setTextureListener,
  type Engine,
  type EngineContext,
  type EngineOptions,
  type FrameStats,
  type MaterialListener,
  type MaterialTextures,
  type System,
  type TextureChange,
  type TextureListener,
} from './engine.ts';
