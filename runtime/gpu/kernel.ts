/**
 * A kernel is one small typed description: a name, the WGSL source of its family, an entry point and
 * its workgroup size. Its bindings and its uniform layout are read from the WGSL itself (with
 * webgpu-utils' reflection), never counted by hand in TypeScript.
 */
import { makeShaderDataDefinitions, makeStructuredView, type ShaderDataDefinitions, type StructuredView } from 'webgpu-utils';

export interface KernelDesc {
  /** Label of every GPU object the kernel creates, and its name in dispatch counts and timings. */
  name: string;
  /** WGSL source of the kernel's family (`shaders/<family>.wgsl`). */
  source: string;
  /** Entry point in the source; defaults to `main`. */
  entryPoint?: string;
}

export interface Binding {
  name: string;
  binding: number;
  kind: 'uniform' | 'storage' | 'read-only-storage' | 'storage-texture' | 'texture' | 'sampler';
  entry: GPUBindGroupLayoutEntry;
}

export class Kernel {
  readonly name: string;
  readonly source: string;
  readonly entryPoint: string;
  private reflected?: { bindings: Binding[]; uniformName?: string; uniformDefs?: ShaderDataDefinitions };

  constructor(desc: KernelDesc) {
    this.name = desc.name;
    this.source = desc.source;
    this.entryPoint = desc.entryPoint ?? 'main';
  }

  /** The resources this entry point uses, sorted by binding number (group 0 only). */
  get bindings(): Binding[] {
    return this.reflect().bindings;
  }

  /** A view onto a fresh uniform block of this kernel (undefined when it has none). */
  makeUniformView(): StructuredView | undefined {
    const { uniformName, uniformDefs } = this.reflect();
    return uniformName && uniformDefs ? makeStructuredView(uniformDefs.uniforms[uniformName]) : undefined;
  }

  private reflect() {
    if (this.reflected) return this.reflected;
    const defs = makeShaderDataDefinitions(this.source);
    const entry = defs.entryPoints[this.entryPoint];
    if (!entry) {
      throw new Error(`kernel ${this.name}: entry point '${this.entryPoint}' not found in its WGSL (has ${Object.keys(defs.entryPoints).join(', ')})`);
    }
    const bindings: Binding[] = entry.resources
      .filter((r) => r.group === 0)
      .map((r) => ({ name: r.name, binding: r.entry.binding, kind: kindOf(r.entry), entry: r.entry }))
      .sort((a, b) => a.binding - b.binding);
    const uniforms = bindings.filter((b) => b.kind === 'uniform');
    if (uniforms.length > 1) throw new Error(`kernel ${this.name}: at most one uniform block is supported, found ${uniforms.length}`);
    this.reflected = { bindings, uniformName: uniforms[0]?.name, uniformDefs: defs };
    return this.reflected;
  }
}

function kindOf(e: GPUBindGroupLayoutEntry): Binding['kind'] {
  if (e.buffer) return (e.buffer.type ?? 'uniform') === 'uniform' ? 'uniform' : e.buffer.type === 'read-only-storage' ? 'read-only-storage' : 'storage';
  if (e.storageTexture) return 'storage-texture';
  if (e.texture) return 'texture';
  return 'sampler';
}

/** Workgroup count for n invocations of `size`, folded into 2D when x would pass the 65535 limit. */
export function grid(n: number, size: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(n / size));
  if (groups <= 65535) return [groups, 1, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y, 1];
}
