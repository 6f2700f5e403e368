/**
 * The texture tool's outputs beyond one PNG: the albedo and its material maps (runtime/generate/material.ts),
 * each resized on the torus to the size an engine wants, as NAME_albedo.png, NAME_normal.png, ..., and the
 * material on a mesh as NAME.glb. Resizing interpolates (wrap-around bicubic): it adds no detail, and keeps
 * a seamless texture seamless.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BoxGeometry, PlaneGeometry, SphereGeometry, TorusKnotGeometry, type BufferGeometry } from 'three';
import { writeGlb, type GlbGeometry } from '../io/glb.ts';
import type { Gpu, Tensor } from '../gpu/index.ts';
import { disposeMaps, recordMaterialMaps, type MapKind, type MaterialMaps } from '../generate/material.ts';
import { resizeBicubic } from '../kernels/resize.ts';
import { encodePng, imagesToRgba } from '../io/png.ts';

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
  const resized: Tensor[] = [];
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
      resized.push(out);
    }
  });
  const read = new Map<MapKind, Float32Array>();
  for (const [kind, t] of results) read.set(kind, (await gpu.read(t)) as Float32Array);
  for (const t of resized) t.dispose();
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

/** Meshes `--glb` can put the material on. */
export const GLB_MESHES = ['plane', 'cube', 'sphere', 'torus-knot'] as const;
export type GlbMesh = (typeof GLB_MESHES)[number];

/** The arrays of a mesh (the editor studio's shapes and sizes), its UVs scaled by `tiling` repeats. */
export function meshGeometry(kind: GlbMesh, tiling = 1): GlbGeometry {
  const shapes: Record<GlbMesh, () => BufferGeometry> = {
    plane: () => new PlaneGeometry(2, 2),
    cube: () => new BoxGeometry(1.5, 1.5, 1.5),
    sphere: () => new SphereGeometry(1, 64, 32),
    'torus-knot': () => new TorusKnotGeometry(0.62, 0.22, 256, 32),
  };
  if (!(kind in shapes)) throw new Error(`--mesh: expected one of ${GLB_MESHES.join(', ')}, found '${kind}'`);
  const g = shapes[kind]();
  const uvs = Float32Array.from(g.getAttribute('uv').array as ArrayLike<number>, (v) => v * tiling);
  const index = g.getIndex()!.array;
  return {
    positions: Float32Array.from(g.getAttribute('position').array as ArrayLike<number>),
    normals: Float32Array.from(g.getAttribute('normal').array as ArrayLike<number>),
    uvs,
    indices: index instanceof Uint32Array ? Uint32Array.from(index) : Uint16Array.from(index as ArrayLike<number>),
  };
}

/** glTF's occlusion-roughness-metallic packing of grey [3, side, side] maps as RGBA bytes: R ao, G roughness, B 0. */
export function packOrm(ao: Float32Array, roughness: Float32Array, side: number): Uint8Array {
  const out = new Uint8Array(side * side * 4);
  const byte = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);
  for (let i = 0; i < side * side; i++) out.set([byte(ao[i]), byte(roughness[i]), 0, 255], 4 * i);
  return out;
}

/** Writes DIR/NAME.glb: `mesh` wearing image 0 of the albedo and its maps (`textures` must hold albedo, normal, roughness, ao). */
export async function writeMaterialGlb(dir: string, name: string, textures: Map<MapKind, Float32Array>, side: number, mesh: GlbMesh, tiling: number): Promise<string> {
  const plane = 3 * side * side;
  const png = (kind: MapKind) => encodePng(imagesToRgba(textures.get(kind)!.subarray(0, plane), 1, side, side), side, side);
  const bytes = writeGlb(name, meshGeometry(mesh, tiling), {
    baseColor: png('albedo'),
    normal: png('normal'),
    occlusionRoughnessMetallic: encodePng(packOrm(textures.get('ao')!, textures.get('roughness')!, side), side, side),
  });
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.glb`);
  await writeFile(path, bytes);
  return path;
}
