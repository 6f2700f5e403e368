export { requestDevice, WebGPUUnavailableError, type DeviceOptions } from './device.ts';
export { Gpu, KERNEL_STYLES, parseKernelStyle, rowWorkgroupSize, type GpuOptions, type HostArray, type KernelStyle } from './gpu.ts';
export { BufferPool, sizeClass, type PoolStats } from './buffer-pool.ts';
export { Pipelines, type Constants, type Pipeline } from './pipelines.ts';
export { Profiler, boundBytes, type DispatchProfile } from './profiler.ts';
export { Recorder, type Dispatch, type Resource, type SectionTiming, type Submission } from './recorder.ts';
export { Kernel, grid, type KernelDesc } from './kernel.ts';
export { Tensor, byteSize, elementCount, expectShape, type DType } from './tensor.ts';
export { toHalf, fromHalf, fromBFloat16, packHalves, unpackHalves, roundToHalf } from './half.ts';
