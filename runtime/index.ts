/** nextscale's public API, by name. */
export { Gpu, requestDevice, WebGPUUnavailableError, type DeviceOptions } from './gpu/index.ts';
export { openSafetensors, openPth, openSource, writeSafetensors, type TensorFile, type ProgressFn } from './io/index.ts';
export { loadVarFolder, loadVarCheckpoints, type VarFolderOptions, type VarCheckpointOptions } from './models/var/load.ts';
export { VarModel, type VarLoadOptions } from './models/var/model.ts';
export { parseVarConfig, serializeVarConfig, type VarModelConfig } from './models/var/config.ts';
export { inferVarConfig } from './models/var/infer.ts';
export { VarSession, checkSampling, type VarSessionOptions, type SamplingSettings, type StepInfo, type StepKind } from './generate/var-session.ts';
export { TapCollector, type Tapped } from './generate/taps.ts';
