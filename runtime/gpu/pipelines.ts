/**
 * Compute pipelines, cached by kernel and override constants. A kernel's uniform block is bound with a
 * dynamic offset into the recorder's uniform ring, so one bind group serves every dispatch that binds
 * the same buffers.
 */
import type { Kernel } from './kernel.ts';

export type Constants = Record<string, number | boolean>;

export interface Pipeline {
  kernel: Kernel;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** A small integer naming this pipeline in bind group cache keys. */
  id: number;
}

export class Pipelines {
  private readonly cache = new Map<string, Pipeline>();
  private readonly modules = new Map<string, GPUShaderModule>();
  readonly stats = { hits: 0, misses: 0 };

  constructor(private readonly device: GPUDevice) {}

  get(kernel: Kernel, constants: Constants = {}): Pipeline {
    const key = cacheKey(kernel, constants);
    const cached = this.cache.get(key);
    if (cached) {
      this.stats.hits++;
      return cached;
    }
    this.stats.misses++;
    let module = this.modules.get(kernel.source);
    if (!module) {
      module = this.device.createShaderModule({ code: kernel.source, label: kernel.name });
      this.modules.set(kernel.source, module);
    }
    const layout = this.device.createBindGroupLayout({
      label: kernel.name,
      entries: kernel.bindings.map((b) =>
        b.kind === 'uniform' ? { ...b.entry, buffer: { type: 'uniform', hasDynamicOffset: true } } : b.entry,
      ),
    });
    const pipeline = this.device.createComputePipeline({
      label: kernel.name,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout], label: kernel.name }),
      compute: { module, entryPoint: kernel.entryPoint, constants: toNumbers(constants) },
    });
    const entry = { kernel, pipeline, layout, id: this.cache.size };
    this.cache.set(key, entry);
    return entry;
  }

  get size(): number {
    return this.cache.size;
  }
}

function cacheKey(kernel: Kernel, constants: Constants): string {
  const names = Object.keys(constants).sort();
  return `${kernel.name}|${kernel.entryPoint}|${names.map((n) => `${n}=${+constants[n]}`).join(',')}`;
}

function toNumbers(constants: Constants): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(constants)) out[k] = +v;
  return out;
}
