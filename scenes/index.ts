/**
 * The scenes by name: the texture studio, the gallery wall, and the video screen. Each one shows
 * generated textures that never leave the GPU (see scene.ts for the contract).
 *
 * @example
 *   const scene = createScene('studio', { renderer, slots }, { studio: { mesh: 'torus knot', tiling: 2 } });
 *   renderer.setAnimationLoop(() => { scene.update(1 / 60); renderer.render(scene.scene, scene.camera); });
 */
import { GalleryScene, type GalleryOptions } from './gallery.ts';
import type { GeneratedScene, SceneContext } from './scene.ts';
import { StudioScene, type StudioOptions } from './studio.ts';
import { VideoScene } from './video.ts';

export { GalleryScene, type GalleryOptions } from './gallery.ts';
export { GeneratedTexture } from './generated-texture.ts';
export type { GeneratedScene, GenerationSlots, SceneContext, SlotHints, SlotMaterial } from './scene.ts';
export { STUDIO_MESHES, StudioScene, type StudioMesh, type StudioOptions } from './studio.ts';
export { VideoScene } from './video.ts';

export const SCENE_NAMES = ['studio', 'gallery', 'video'] as const;
export type SceneName = (typeof SCENE_NAMES)[number];

export interface SceneOptions {
  studio?: StudioOptions;
  gallery?: GalleryOptions;
}

/** Creates a scene by name; an unknown name is an error naming the known ones. */
export function createScene(name: SceneName, ctx: SceneContext, options: SceneOptions = {}): GeneratedScene {
  switch (name) {
    case 'studio':
      return new StudioScene(ctx, options.studio);
    case 'gallery':
      return new GalleryScene(ctx, options.gallery);
    case 'video':
      return new VideoScene(ctx);
    default:
      throw new Error(`unknown scene '${name as string}': expected one of ${SCENE_NAMES.join(', ')}`);
  }
}
