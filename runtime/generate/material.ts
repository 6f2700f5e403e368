/**
 * A material from a generated albedo: height, normal, roughness and ambient-occlusion maps, made on the GPU
 * by the kernels of runtime/kernels/material-maps.ts, all on the torus, so every map tiles as the albedo
 * does. The maps are estimates from colour alone, as texture tools extract them from a photo: each image's
 * colours are read along their direction of largest variance (for a two-colour texture, the line between
 * its colours, whatever their luma), the darker side as low; narrow dark features read as grooves, busy
 * areas as rough.
 *
 * @example
 *   const maps = recordMaterialMaps(gpu, rec, imageB3HW);        // pooled [B, 3, H, W] tensors
 *   writeImageTexture(rec, normalTexture.createView(), maps.normal);
 *   disposeMaps(maps);                                            // after recording, back to the pool
 */
import type { Gpu, Recorder, Tensor } from '../gpu/index.ts';
import { writeImageTexture } from '../kernels/image-texture.ts';
import { aoMap, blurCircular, colourAxis, heightMap, normalMap, projectColours, roughnessMap } from '../kernels/material-maps.ts';

/** The maps a material can hold, in the order tools list them; 'albedo' is the generated image itself. */
export const MAP_KINDS = ['albedo', 'normal', 'height', 'roughness', 'ao'] as const;
export type MapKind = (typeof MAP_KINDS)[number];

/** How strongly each map reads its albedo. */
export interface MaterialSettings {
  /** Height: gain of the band-passed colour signal (Y, the colours along their axis) around mid-grey. */
  heightGain: number;
  /** Normal: slope scale, per 64th of the texture (so a map looks alike at any size). */
  normalStrength: number;
  /** Roughness of a flat area, and how much local contrast adds. */
  roughnessBase: number;
  roughnessGain: number;
  /** Ambient occlusion: darkening per unit of Y a point lies below its surroundings. */
  aoGain: number;
}

export const MATERIAL_DEFAULTS: Readonly<MaterialSettings> = { heightGain: 1, normalStrength: 2, roughnessBase: 0.55, roughnessGain: 1, aoGain: 1.5 };

/**
 * Blur widths in pixels for an H x W texture, in proportion to its side (at 64 px: 1, 4 and 8): `local`
 * smooths a pixel's neighbourhood (the height's detail, roughness' window), `mid` is the surroundings a
 * cavity is measured against, `wide` the shading that the height's band-pass removes.
 */
export function materialSigmas(H: number, W: number): { local: number; mid: number; wide: number } {
  const side = Math.min(H, W);
  return { local: Math.max(side / 64, 0.5), mid: side / 16, wide: side / 8 };
}

/** Height, normal, roughness and ao maps, each [B, 3, H, W] f32 in [0, 1]. */
export type MaterialMaps = Record<Exclude<MapKind, 'albedo'>, Tensor>;

/** Checks each setting is a finite number; throws naming the first that is not. */
export function checkMaterialSettings(s: MaterialSettings): MaterialSettings {
  for (const [k, v] of Object.entries(s)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`material settings: ${k} must be a finite number, found ${v}`);
  }
  return s;
}

/**
 * Records the maps of albedo `image` [B, 3, H, W] (f32 in [0, 1]) into fresh pooled tensors (the caller
 * disposes them: `disposeMaps`). 12 dispatches; scratch goes back to the pool as it is recorded.
 */
export function recordMaterialMaps(gpu: Gpu, rec: Recorder, image: Tensor, settings: MaterialSettings = MATERIAL_DEFAULTS): MaterialMaps {
  checkMaterialSettings(settings);
  const [B, C, H, W] = image.shape;
  if (image.shape.length !== 4 || C !== 3 || !(H >= 1 && W >= 1) || image.dtype !== 'f32') {
    throw new Error(`materialMaps: image must be [B, 3, H ≥ 1, W ≥ 1] f32, found [${image.shape.join(', ')}] ${image.dtype}`);
  }
  const axis = gpu.tensor([B, 4], 'f32', 'material.axis');
  colourAxis(rec, axis, image);
  const lum = gpu.tensor([B, 2, H, W], 'f32', 'material.lum');
  projectColours(rec, lum, image, axis);
  const rows = gpu.tensor([B, 2, H, W], 'f32', 'material.rows');
  const blurred = (sigma: number): Tensor => {
    const out = gpu.tensor([B, 2, H, W], 'f32', 'material.blur');
    blurCircular(rec, rows, lum, 'x', sigma);
    blurCircular(rec, out, rows, 'y', sigma);
    return out;
  };
  const sigmas = materialSigmas(H, W);
  const [local, mid, wide] = [blurred(sigmas.local), blurred(sigmas.mid), blurred(sigmas.wide)];
  const map = (name: string) => gpu.tensor([B, 3, H, W], 'f32', `material.${name}`);
  const maps: MaterialMaps = { height: map('height'), normal: map('normal'), roughness: map('roughness'), ao: map('ao') };
  heightMap(rec, maps.height, local, wide, settings.heightGain);
  normalMap(rec, maps.normal, maps.height, settings.normalStrength);
  roughnessMap(rec, maps.roughness, local, settings.roughnessBase, settings.roughnessGain);
  aoMap(rec, maps.ao, local, mid, settings.aoGain);
  for (const t of [axis, lum, rows, local, mid, wide]) t.dispose();
  return maps;
}

/** Level-0 views of the rgba8unorm textures an image and its maps are written to. */
export interface ImageTargets {
  image: GPUTextureView;
  maps?: Record<'normal' | 'roughness' | 'ao', GPUTextureView>;
}

/**
 * Records the writes of image 0 of `image` [B, 3, H, W] into its texture and, when `targets.maps` is
 * given, its material maps into theirs (the engine's texture system owns the textures).
 */
export function recordImageTextures(gpu: Gpu, rec: Recorder, image: Tensor, targets: ImageTargets): void {
  writeImageTexture(rec, targets.image, image, { batchIndex: 0 });
  if (!targets.maps) return;
  const maps = recordMaterialMaps(gpu, rec, image);
  for (const kind of ['normal', 'roughness', 'ao'] as const) writeImageTexture(rec, targets.maps[kind], maps[kind], { batchIndex: 0 });
  disposeMaps(maps);
}

/** Returns the maps' buffers to the pool. */
export function disposeMaps(maps: MaterialMaps): void {
  for (const t of Object.values(maps)) t.dispose();
}

/**
 * Parses a `--maps` list ("albedo,normal,ao"): known kinds, each once, in the order given.
 * @example parseMapKinds('albedo,normal') // ['albedo', 'normal']
 */
export function parseMapKinds(list: string): MapKind[] {
  const kinds = list.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (kinds.length === 0) throw new Error(`--maps: expected a comma-separated list of ${MAP_KINDS.join(', ')}, found '${list}'`);
  for (const k of kinds) {
    if (!(MAP_KINDS as readonly string[]).includes(k)) throw new Error(`--maps: unknown map '${k}' (known: ${MAP_KINDS.join(', ')})`);
  }
  if (new Set(kinds).size !== kinds.length) throw new Error(`--maps: a map is named twice in '${list}'`);
  return kinds as MapKind[];
}
