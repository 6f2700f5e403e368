/**
 * A generated image as a material's colour: the engine's GPUTexture wrapped as a Three.js
 * `ExternalTexture` (no copy), sampled with tiling, and decoded from sRGB in the shader.
 *
 * Why decode by hand: the engine writes sRGB-encoded bytes into an `rgba8unorm` texture (storage
 * textures cannot be `-srgb`), and Three's WebGPU backend decodes sRGB only through the texture
 * format, never for an external texture. So the texture is tagged as raw data and the node applies
 * the sRGB transfer function after sampling.
 *
 * Mipmaps: the engine writes level 0 only; after every write the other levels are regenerated with
 * the renderer's own mipmap pass, so faces seen at an angle do not sample stale levels.
 *
 * Rebinding: when the sampled texture object changes (the placeholder for the engine's texture, or
 * back), the materials that use it are rebuilt (`usedBy`). Three's WebGPU backend keeps the bindings it
 * made for the previous texture otherwise, and the surface keeps showing a mip level of an early
 * preview instead of the image.
 */
import { colorSpaceToWorking, texture, uniform, uv } from 'three/tsl';
import {
  DataTexture,
  ExternalTexture,
  LinearFilter,
  LinearMipmapLinearFilter,
  type Material,
  NoColorSpace,
  RepeatWrapping,
  SRGBColorSpace,
  Vector2,
  type Node,
  type Texture,
  type TextureNode,
  type WebGPURenderer,
} from 'three/webgpu';

/** Shown until the first image arrives: a flat mid grey. */
const PLACEHOLDER_SRGB = [0x80, 0x80, 0x80] as const;

/** The part of the renderer's backend used here (WebGPUBackend has it; not in the type declarations). */
interface MipmapBackend {
  generateMipmaps?(texture: Texture): void;
}

export class GeneratedTexture {
  /** The generated colour in the renderer's working (linear) colour space: a material's `colorNode`. */
  readonly colorNode: Node<'vec4'>;
  /** The texels as stored, for maps that hold data rather than colour (normals, roughness, occlusion). */
  readonly dataNode: Node<'vec4'>;
  /** How many times the image repeats across the surface's UV square. */
  readonly repeat = uniform(new Vector2(1, 1));
  private readonly sample: TextureNode;
  private readonly placeholder: DataTexture;
  private external: ExternalTexture | undefined;
  private source: GPUTexture | undefined;
  private readonly materials = new Set<Material>();

  /** `placeholder`: the RGB bytes shown until the first write (a map's neutral value: a flat normal is 128, 128, 255). */
  constructor(
    private readonly renderer: WebGPURenderer,
    placeholder: readonly [number, number, number] = PLACEHOLDER_SRGB,
  ) {
    const texels = new Uint8Array(4 * 4);
    for (let i = 0; i < texels.length; i += 4) texels.set([...placeholder, 255], i);
    this.placeholder = new DataTexture(texels, 2, 2);
    this.placeholder.colorSpace = NoColorSpace;
    this.placeholder.needsUpdate = true;
    this.sample = texture(this.placeholder, uv().mul(this.repeat));
    this.colorNode = colorSpaceToWorking(this.sample, SRGBColorSpace) as Node<'vec4'>;
    this.dataNode = this.sample as unknown as Node<'vec4'>;
  }

  /** Rebuilds `material` whenever the sampled texture object changes (call once per material using a node of this). */
  usedBy(material: Material): void {
    this.materials.add(material);
  }

  /** The bound GPUTexture, if any. */
  get texture(): GPUTexture | undefined {
    return this.source;
  }

  /**
   * Binds `gpuTexture` (or unbinds with `undefined`). Its image shows from the first `written()` on:
   * a new texture holds zeros until the engine writes it, so the placeholder stays until then.
   */
  bind(gpuTexture: GPUTexture | undefined): void {
    if (gpuTexture === this.source) return;
    this.external?.dispose();
    this.external = undefined;
    this.source = gpuTexture;
    this.show(this.placeholder);
  }

  /** The bound texture was written: show it and regenerate its mip levels from level 0. */
  written(): void {
    const source = this.source;
    if (!source) return;
    if (!this.external) {
      const ext = new ExternalTexture(source);
      ext.colorSpace = NoColorSpace;
      ext.wrapS = ext.wrapT = RepeatWrapping;
      ext.magFilter = LinearFilter;
      const mips = source.mipLevelCount > 1;
      ext.minFilter = mips ? LinearMipmapLinearFilter : LinearFilter;
      ext.generateMipmaps = false;
      // WebGPU allows anisotropic sampling only with linear filtering between mip levels.
      ext.anisotropy = mips ? 4 : 1;
      this.renderer.initTexture(ext);
      this.external = ext;
      this.show(ext);
    }
    if (source.mipLevelCount > 1) (this.renderer.backend as unknown as MipmapBackend).generateMipmaps?.(this.external);
  }

  /** Samples `t` from now on, rebuilding the materials that use it when that changes the texture object. */
  private show(t: Texture): void {
    if (this.sample.value === t) return;
    this.sample.value = t;
    for (const m of this.materials) m.needsUpdate = true;
  }

  /** Sets the tiling: the image repeats `n` times along each axis. */
  setTiling(n: number): void {
    this.repeat.value.set(n, n);
  }

  dispose(): void {
    this.external?.dispose();
    this.placeholder.dispose();
    this.external = undefined;
    this.source = undefined;
    this.materials.clear();
  }
}
