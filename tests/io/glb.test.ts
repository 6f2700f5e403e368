import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { meshGeometry, packOrm } from '../../runtime/cli/material-out.ts';
import { encodePng } from '../../runtime/io/png.ts';
import { readGlb, writeGlb } from '../../runtime/io/glb.ts';

/** A w x h PNG of one colour. */
const flat = (w: number, h: number, rgb: [number, number, number]) => {
  const rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) rgba.set([...rgb, 255], 4 * i);
  return encodePng(rgba, w, h);
};

describe('glb writer', () => {
  it('writes a mesh and its textures that a glTF reader finds where the JSON says', () => {
    const geometry = meshGeometry('cube', 3);
    const textures = { baseColor: flat(5, 3, [200, 40, 40]), normal: flat(5, 3, [128, 128, 255]), occlusionRoughnessMetallic: flat(5, 3, [255, 140, 0]) };
    const bytes = writeGlb('brick wall', geometry, textures);
    expect(bytes.byteLength % 4).toBe(0);
    const { json, bin } = readGlb(bytes);
    const j = json as any;
    expect(j.asset.version).toBe('2.0');
    const prim = j.meshes[0].primitives[0];
    const accessor = (i: number) => j.accessors[i];
    const slice = (view: number) => bin.subarray(j.bufferViews[view].byteOffset, j.bufferViews[view].byteOffset + j.bufferViews[view].byteLength);
    expect(accessor(prim.attributes.POSITION)).toMatchObject({ count: 24, type: 'VEC3', min: [-0.75, -0.75, -0.75], max: [0.75, 0.75, 0.75] });
    expect(accessor(prim.indices)).toMatchObject({ count: 36, componentType: 5123 });
    const uv = new Float32Array(slice(accessor(prim.attributes.TEXCOORD_0).bufferView).slice().buffer);
    expect(Math.max(...uv)).toBe(3); // three repeats
    for (const v of j.bufferViews) {
      expect(v.byteOffset % 4).toBe(0);
      expect(v.byteOffset + v.byteLength).toBeLessThanOrEqual(bin.byteLength);
    }
    const m = j.materials[0];
    expect(m.name).toBe('brick wall');
    expect(m.pbrMetallicRoughness.metallicRoughnessTexture.index).toBe(m.occlusionTexture.index);
    const png = (texture: number) => decode(slice(j.images[j.textures[texture].source].bufferView));
    expect(Array.from(png(m.pbrMetallicRoughness.baseColorTexture.index).data.subarray(0, 4))).toEqual([200, 40, 40, 255]);
    expect(Array.from(png(m.normalTexture.index).data.subarray(0, 3))).toEqual([128, 128, 255]);
    expect(png(m.occlusionTexture.index).width).toBe(5);
    expect(j.samplers[0]).toMatchObject({ wrapS: 10497, wrapT: 10497 });
  });

  it('refuses geometry whose arrays disagree, and files that are not .glb', () => {
    const g = meshGeometry('plane');
    const png = flat(1, 1, [0, 0, 0]);
    expect(() => writeGlb('x', { ...g, uvs: g.uvs.subarray(2) }, { baseColor: png })).toThrow(/expected 8 UV floats for 4 vertices, found 6/);
    expect(() => writeGlb('x', { ...g, indices: Uint16Array.from([0, 1, 9]) }, { baseColor: png })).toThrow(/index 9 is past the 4 vertices/);
    const bytes = writeGlb('x', g, { baseColor: png });
    expect(() => readGlb(bytes.subarray(0, bytes.length - 4), 'cut.glb')).toThrow(/cut\.glb: header says \d+ bytes, found \d+/);
    expect(() => readGlb(new Uint8Array(32), 'zero.glb')).toThrow(/zero\.glb: not a glTF 2\.0 binary/);
    expect(() => meshGeometry('teapot' as never)).toThrow(/--mesh: expected one of plane, cube, sphere, torus-knot/);
  });

  it('packs occlusion in red and roughness in green', () => {
    const orm = packOrm(Float32Array.from([1, 0.5, 0, 0, 0, 0]), Float32Array.from([0.2, 1.2, 0, 0, 0, 0]), 1);
    expect(Array.from(orm)).toEqual([255, 51, 0, 255]);
  });
});
