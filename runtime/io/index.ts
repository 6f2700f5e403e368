/**
 * Reading model weights: byte sources (Node files, Blobs, memory, URLs with Range requests) and
 * the two checkpoint formats behind one `TensorFile` interface (safetensors, PyTorch .pth), plus a
 * safetensors writer.
 */
export { blobSource, fileSource, memorySource, openSource, urlSource, type ByteSource, type ProgressFn, type SourceOptions } from './source.ts';
export { DTYPE_SIZE, type FileDType, type TensorData, type TensorFile, type TensorInfo } from './tensor-file.ts';
export { openSafetensors, SafetensorsFile, writeSafetensors, type SafetensorsEntry } from './safetensors.ts';
export { openPth, PthFile, type PthTensorInfo } from './pth.ts';
export { ModelFileError } from './model-file-error.ts';
