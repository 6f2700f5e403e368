/**
 * What every scene shares. A scene is a Three.js scene and camera drawn by a `WebGPURenderer` that runs
 * on the runtime's own GPUDevice, so generated textures go from the compute pass to the material with
 * no copy. A scene asks for generations by slot (one per surface that shows an image) and is told when
 * a slot's texture is created, written, or removed; it never runs generation work itself.
 */
import type { PerspectiveCamera, Scene, WebGPURenderer } from 'three/webgpu';

/** How a slot's generation should be scheduled relative to the others. */
export interface SlotHints {
  /** On screen: scheduled before hidden slots and previewed at every scale. */
  visible?: boolean;
  /** The one the user looks at: scheduled first. */
  selected?: boolean;
  /** Higher runs first among slots of equal visibility and selection. */
  priority?: number;
  /** Also make the material maps (normal, roughness, ambient occlusion) of the slot's image. */
  material?: boolean;
}

/** A slot's material maps: rgba8unorm textures of linear data, written with the slot's texture. */
export interface SlotMaterial {
  normal: GPUTexture;
  roughness: GPUTexture;
  ao: GPUTexture;
}

/** The generations a scene may ask for: the editor's settings, varied by seed per slot. */
export interface GenerationSlots {
  /**
   * Starts a generation for `variant` (0: the editor's own seed; n: the seed moved by n) and returns
   * its slot id. Its texture arrives through the scene's `setTexture`.
   */
  acquire(variant: number, hints?: SlotHints): number;
  /** Stops the slot's generation and frees its texture (the scene hears `setTexture(slot, undefined)`). */
  release(slot: number): void;
  /** Changes a slot's scheduling hints. */
  hint(slot: number, hints: SlotHints): void;
}

export interface SceneContext {
  /** Initialised (`await renderer.init()`) on the runtime's device. */
  renderer: WebGPURenderer;
  slots: GenerationSlots;
}

export interface GeneratedScene {
  readonly scene: Scene;
  readonly camera: PerspectiveCamera;
  /**
   * The slot the editor reports progress for and exports as PNG (the mesh in the studio, the panel in
   * the middle of the gallery, the newest picture on the video screen); undefined before any.
   */
  readonly focusSlot: number | undefined;
  /** Binds a slot's texture (rgba8unorm, sRGB-encoded texels), or unbinds it with `undefined`. */
  setTexture(slot: number, texture: GPUTexture | undefined): void;
  /** The slot's texture was written (a preview or the final image): regenerate its mipmaps. */
  textureWritten(slot: number): void;
  /** Binds a slot's material maps (asked for with the `material` hint), or unbinds them with `undefined`. */
  setMaterial?(slot: number, maps: SlotMaterial | undefined): void;
  /**
   * The variant (seed offset) of the generation shown at a point of the canvas, in normalised device
   * coordinates; scenes that show variations have it (the gallery).
   */
  variantAt?(x: number, y: number): number | undefined;
  /** Advances animation by `dt` seconds. */
  update(dt: number): void;
  /** The canvas size in CSS pixels changed. */
  resize(width: number, height: number): void;
  /** Releases the scene's slots and frees its GPU resources. */
  dispose(): void;
}
