/** nextscale's public API, by name. */
export { Gpu, requestDevice, WebGPUUnavailableError, type DeviceOptions } from './gpu/index.ts';
export { openSafetensors, openPth, openSource, writeSafetensors, type TensorFile, type ProgressFn } from './io/index.ts';
export { loadVarFolder, loadVarCheckpoints, type VarFolderOptions, type VarCheckpointOptions } from './models/var/load.ts';
export { VarModel, type VarLoadOptions } from './models/var/model.ts';
export { parseVarConfig, serializeVarConfig, type VarModelConfig } from './models/var/config.ts';
export { inferVarConfig } from './models/var/infer.ts';
export { VarSession, checkSampling, type VarSessionOptions, type SamplingSettings, type StepInfo, type StepKind } from './generate/var-session.ts';
export { TapCollector, type Tapped } from './generate/taps.ts';
export { loadModelFolder, type AnyModel, type ModelFolderOptions } from './models/load.ts';
export { loadUnifiedFolder, type UnifiedFolderOptions } from './models/unified/load.ts';
export { UnifiedModel, type UnifiedLoadOptions } from './models/unified/model.ts';
export { parseUnifiedConfig, serializeUnifiedConfig, type UnifiedModelConfig, type UnifiedConfig } from './models/unified/config.ts';
export { UnifiedTokenizer, SPECIAL_TOKENS, type SpecialIds } from './models/unified/tokenizer.ts';
export { UnifiedSession, type UnifiedSessionOptions, type ImageSettings, type UnifiedStepInfo, type UnifiedStepKind } from './generate/unified-session.ts';
export { ImageJob, TextJob, type ImageInput, type TextSettings } from './generate/unified-jobs.ts';
export { textToImage, caption, edit, type GeneratedImage, type TaskOptions } from './generate/unified-tasks.ts';
