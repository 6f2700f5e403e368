/**
 * One way to get a GPUDevice, in the browser (`navigator.gpu`) and in Node (Dawn, from the `webgpu`
 * package). In Node, when Dawn finds no adapter and `VK_ICD_FILENAMES` is unset, SwiftShader's Vulkan
 * driver from Debian's chromium package is tried before giving up.
 */

/** Vulkan driver manifests that ship SwiftShader, tried in order when Dawn finds no adapter. */
const SWIFTSHADER_ICDS = ['/usr/lib/chromium/vk_swiftshader_icd.json'];

/** Optional features the runtime uses when the adapter offers them. */
const WANTED_FEATURES: GPUFeatureName[] = ['timestamp-query', 'shader-f16', 'subgroups'];

/** Limits raised to the adapter's maximum: big weights and many bindings per kernel. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
] as const;

export interface DeviceOptions {
  powerPreference?: GPUPowerPreference;
  /** Called with the message when the device is lost (not called for `destroy()`). */
  onLost?: (message: string) => void;
}

export class WebGPUUnavailableError extends Error {
  override name = 'WebGPUUnavailableError';
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/**
 * Requests a GPUDevice with the features and limits the runtime wants.
 *
 * @example
 *   const device = await requestDevice();
 *   device.features.has('timestamp-query'); // true on SwiftShader and on most discrete GPUs
 */
export async function requestDevice(options: DeviceOptions = {}): Promise<GPUDevice> {
  const adapter = isNode ? await nodeAdapter(options) : await browserAdapter(options);
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'nextscale' });
  device.lost.then((info) => {
    if (info.reason !== 'destroyed') options.onLost?.(info.message);
  });
  return device;
}

async function browserAdapter(options: DeviceOptions): Promise<GPUAdapter> {
  if (typeof navigator === 'undefined' || !navigator.gpu) {
    throw new WebGPUUnavailableError(
      'WebGPU is not available in this browser (navigator.gpu is missing). Use a recent Chrome, Edge or ' +
        'Safari, served over https or from localhost.',
    );
  }
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: options.powerPreference });
  if (!adapter) throw new WebGPUUnavailableError('navigator.gpu.requestAdapter() found no GPU adapter.');
  return adapter;
}

let nodeGpu: GPU | undefined;

async function nodeAdapter(options: DeviceOptions): Promise<GPUAdapter> {
  const fs = await import('node:fs');
  const tried: string[] = [];
  const attempt = async (): Promise<GPUAdapter | null> => {
    nodeGpu ??= await createNodeGpu();
    return nodeGpu.requestAdapter({ powerPreference: options.powerPreference });
  };
  const first = process.env.VK_ICD_FILENAMES ? await attempt() : null;
  if (first) return first;
  if (process.env.VK_ICD_FILENAMES) tried.push(`VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES}`);
  else {
    // Dawn reads VK_ICD_FILENAMES when its instance is created, so set it before the first create().
    const icd = SWIFTSHADER_ICDS.find((p) => fs.existsSync(p));
    if (icd) process.env.VK_ICD_FILENAMES = icd;
    const adapter = await attempt();
    if (adapter) return adapter;
    tried.push(icd ? `SwiftShader (${icd})` : 'the system Vulkan drivers (no SwiftShader driver found)');
  }
  throw new WebGPUUnavailableError(
    `No WebGPU adapter in Node: tried ${tried.join(', ')}. On Debian install a Vulkan loader and ` +
      `SwiftShader with 'apt-get install -y libvulkan1 chromium' (its package ships ` +
      `/usr/lib/chromium/vk_swiftshader_icd.json), or point VK_ICD_FILENAMES at your GPU's Vulkan driver.`,
  );
}

async function createNodeGpu(): Promise<GPU> {
  const dawn = await import('webgpu');
  // Dawn's constants (GPUBufferUsage, GPUShaderStage, ...) are globals in the browser; make them so here.
  Object.assign(globalThis, dawn.globals);
  // Dawn rounds timestamps down to 65.536 µs unless told not to (a browser's guard against timing attacks):
  // the bench times single dispatches, many far shorter than that.
  return dawn.create(['disable-dawn-features=timestamp_quantization']);
}
