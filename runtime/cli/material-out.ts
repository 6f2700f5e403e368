/**
 * The texture tool's outputs beyond one PNG: the albedo and its material maps (runtime/generate/material.ts),
 * each resized on the torus to the size an engine wants, as NAME_albedo.png, NAME_normal.png, ... Resizing
 * interpolates (wrap-around bicubic): it adds no detail, and keeps a seamless texture seamless.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Gpu, Tensor } from '../gpu/index.ts';
import { disposeMaps, recordMaterialMaps, type MapKind, type MaterialMaps } from '../generate/material.ts';
import { resizeBicubic } from '../kernels/resize.ts';
import { encodePng, imagesToRgba } from './png.ts';

/** Largest side `--size` accepts. */
export const MAX_TEXTURE_SIZE = 4096;

/** Parses `--size N`: a whole number of pixels, 8 to MAX_TEXTURE_SIZE. */
export function parseTextureSize(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 8 || n > MAX_TEXTURE_SIZE) {
    throw new Error(`--size: expected a whole number of pixels from 8 to ${MAX_TEXTURE_SIZE} (e.g. 256), found '${value}'`);
  }
  return n;
}

/**
 * A file-name stem for a prompt: lower-case words joined by '-', at most 60 characters.
 * @example textureName('Red and blue checker, fine') // 'red-and-blue-checker-fine'
 */
export function textureName(prompt: string): string {
  const stem = prompt.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60).replace(/-+$/, '');
  return stem || 'texture';
}

/**
 * The requested maps of albedo `image` [B, 3, S, S] (in [0, 1]) at `side` x `side`, read back: one GPU
 * submission, maps made at the generated size and then resized on the torus with the albedo.
 */
export async function renderTextures(gpu: Gpu, image: Float32Array, B: number, S: number, kinds: readonly MapKind[], side: number): Promise<Map<MapKind, Float32Array>> {
  const albedo = gpu.upload(image, [B, 3, S, S], 'f32', 'albedo');
  let maps: MaterialMaps | undefined;
  const results = new Map<MapKind, Tensor>();
  gpu.run('texture outputs', (rec) => {
    if (kinds.some((k) => k !== 'albedo')) maps = recordMaterialMaps(gpu, rec, albedo);
    for (const kind of kinds) {
      const src = kind === 'albedo' ? albedo : maps![kind];
      if (side === S) {
        results.set(kind, src);
        continue;
      }
      const out = gpu.tensor([B, 3, side, side], 'f32', `${kind}.resized`);
      resizeBicubic(rec, out, src, { paddingMode: 'circular' });
      results.set(kind, out);
    }
  });
  const read = new Map<MapKind, Float32Array>();
  for (const [kind, t] of results) read.set(kind, (await gpu.read(t)) as Float32Array);
  for (const t of results.values()) if (t !== albedo && !Object.values(maps ?? {}).includes(t)) t.dispose();
  if (maps) disposeMaps(maps);
  albedo.dispose();
  return read;
}

/** Writes each map as DIR/NAME_KIND.png (DIR/NAME-b_KIND.png per image of a batch); returns the paths. */
export async function writeTextures(dir: string, name: string, textures: Map<MapKind, Float32Array>, B: number, side: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  const plane = 3 * side * side;
  for (const [kind, data] of textures) {
    for (let b = 0; b < B; b++) {
      const path = join(dir, `${B === 1 ? name : `${name}-${b}`}_${kind}.png`);
      await writeFile(path, encodePng(imagesToRgba(data.subarray(b * plane, (b + 1) * plane), 1, side, side), side, side));
      paths.push(path);
    }
  }
  return paths;
}
