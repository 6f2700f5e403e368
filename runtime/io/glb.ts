/**
 * Binary glTF 2.0 (.glb) of one textured mesh, as the texture tool hands a material to an engine: the
 * geometry (positions, normals, UVs, indices) and a metallic-roughness material whose base colour,
 * normal and occlusion-roughness-metallic textures are embedded PNGs, sampled with repeat wrapping so a
 * seamless texture tiles. Engines' glTF importers (three's GLTFLoader, Blender, Godot, glTFast) read it.
 * No dependencies: the file is a JSON chunk and a binary chunk.
 */

/** Triangle mesh arrays: 3 floats a position and a normal, 2 a UV; indices into them. */
export interface GlbGeometry {
  positions: Float32Array;
  normals: Float32Array;
  uvs: Float32Array;
  indices: Uint16Array | Uint32Array;
}

/** PNG files of the material's textures. */
export interface GlbTextures {
  /** sRGB colour. */
  baseColor: Uint8Array;
  /** Tangent-space normals, +Y up (glTF's convention), linear. */
  normal?: Uint8Array;
  /** R ambient occlusion, G roughness, B metalness (glTF's packing), linear. */
  occlusionRoughnessMetallic?: Uint8Array;
}

const GLB_MAGIC = 0x46546c67; // 'glTF'
const CHUNK_JSON = 0x4e4f534a; // 'JSON'
const CHUNK_BIN = 0x004e4942; // 'BIN\0'
const FLOAT = 5126;
const UNSIGNED_SHORT = 5123;
const UNSIGNED_INT = 5125;
const ARRAY_BUFFER = 34962;
const ELEMENT_ARRAY_BUFFER = 34963;
const LINEAR = 9729;
const LINEAR_MIPMAP_LINEAR = 9987;
const REPEAT = 10497;

const pad4 = (n: number) => (n + 3) & ~3;

/** Checks the geometry's arrays agree (whole vertices, indices in range); throws naming what is off. */
function checkGeometry(g: GlbGeometry): number {
  const vertices = g.positions.length / 3;
  if (!Number.isInteger(vertices) || vertices === 0) throw new Error(`glb: positions must hold whole xyz vertices, found ${g.positions.length} floats`);
  if (g.normals.length !== 3 * vertices) throw new Error(`glb: expected ${3 * vertices} normal floats for ${vertices} vertices, found ${g.normals.length}`);
  if (g.uvs.length !== 2 * vertices) throw new Error(`glb: expected ${2 * vertices} UV floats for ${vertices} vertices, found ${g.uvs.length}`);
  if (g.indices.length === 0 || g.indices.length % 3 !== 0) throw new Error(`glb: indices must list whole triangles, found ${g.indices.length}`);
  for (const i of g.indices) if (i >= vertices) throw new Error(`glb: index ${i} is past the ${vertices} vertices`);
  return vertices;
}

/**
 * The .glb bytes of `geometry` wearing `textures`, named `name` (mesh, node and material).
 *
 * @example
 *   writeFileSync('brick.glb', writeGlb('brick', plane, { baseColor: albedoPng, normal: normalPng }));
 */
export function writeGlb(name: string, geometry: GlbGeometry, textures: GlbTextures): Uint8Array<ArrayBuffer> {
  const vertices = checkGeometry(geometry);
  const views: { bytes: Uint8Array; target?: number }[] = [];
  const view = (data: ArrayBufferView, target?: number) => views.push({ bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), target }) - 1;

  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  for (let v = 0; v < vertices; v++) {
    for (let c = 0; c < 3; c++) {
      min[c] = Math.min(min[c], geometry.positions[3 * v + c]);
      max[c] = Math.max(max[c], geometry.positions[3 * v + c]);
    }
  }
  const wide = geometry.indices instanceof Uint32Array;
  const accessors = [
    { bufferView: view(geometry.positions, ARRAY_BUFFER), componentType: FLOAT, count: vertices, type: 'VEC3', min, max },
    { bufferView: view(geometry.normals, ARRAY_BUFFER), componentType: FLOAT, count: vertices, type: 'VEC3' },
    { bufferView: view(geometry.uvs, ARRAY_BUFFER), componentType: FLOAT, count: vertices, type: 'VEC2' },
    { bufferView: view(geometry.indices, ELEMENT_ARRAY_BUFFER), componentType: wide ? UNSIGNED_INT : UNSIGNED_SHORT, count: geometry.indices.length, type: 'SCALAR' },
  ];
  const images: { bufferView: number; mimeType: string; name: string }[] = [];
  const texture = (png: Uint8Array, kind: string) => {
    images.push({ bufferView: view(png), mimeType: 'image/png', name: `${name}_${kind}` });
    return { index: images.length - 1 };
  };
  const material: Record<string, unknown> = { name, pbrMetallicRoughness: { baseColorTexture: texture(textures.baseColor, 'albedo'), metallicFactor: 0, roughnessFactor: 1 } };
  if (textures.normal) material.normalTexture = texture(textures.normal, 'normal');
  if (textures.occlusionRoughnessMetallic) {
    const orm = texture(textures.occlusionRoughnessMetallic, 'orm');
    material.occlusionTexture = orm;
    (material.pbrMetallicRoughness as Record<string, unknown>).metallicRoughnessTexture = orm;
  }

  let offset = 0;
  const bufferViews = views.map(({ bytes, target }) => {
    const v = { buffer: 0, byteOffset: offset, byteLength: bytes.byteLength, ...(target ? { target } : {}) };
    offset = pad4(offset + bytes.byteLength);
    return v;
  });
  const bin = new Uint8Array(offset);
  views.forEach(({ bytes }, i) => bin.set(bytes, bufferViews[i].byteOffset));

  const json = {
    asset: { version: '2.0', generator: 'nextscale' },
    scene: 0,
    scenes: [{ nodes: [0] }],
    nodes: [{ mesh: 0, name }],
    meshes: [{ name, primitives: [{ attributes: { POSITION: 0, NORMAL: 1, TEXCOORD_0: 2 }, indices: 3, material: 0 }] }],
    materials: [material],
    textures: images.map((_, i) => ({ sampler: 0, source: i })),
    samplers: [{ magFilter: LINEAR, minFilter: LINEAR_MIPMAP_LINEAR, wrapS: REPEAT, wrapT: REPEAT }],
    images,
    accessors,
    bufferViews,
    buffers: [{ byteLength: bin.byteLength }],
  };
  const text = new TextEncoder().encode(JSON.stringify(json));
  const jsonLength = pad4(text.byteLength);
  const out = new Uint8Array(12 + 8 + jsonLength + 8 + bin.byteLength);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, GLB_MAGIC, true);
  dv.setUint32(4, 2, true);
  dv.setUint32(8, out.byteLength, true);
  dv.setUint32(12, jsonLength, true);
  dv.setUint32(16, CHUNK_JSON, true);
  out.set(text, 20);
  out.fill(0x20, 20 + text.byteLength, 20 + jsonLength); // JSON pads with spaces
  dv.setUint32(20 + jsonLength, bin.byteLength, true);
  dv.setUint32(24 + jsonLength, CHUNK_BIN, true);
  out.set(bin, 28 + jsonLength);
  return out;
}

/**
 * The JSON and binary chunks of a .glb (header, chunk types and lengths checked): for reading back what
 * `writeGlb` wrote.
 */
export function readGlb(bytes: Uint8Array, name = 'glb'): { json: Record<string, unknown>; bin: Uint8Array } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 20 || dv.getUint32(0, true) !== GLB_MAGIC || dv.getUint32(4, true) !== 2) throw new Error(`${name}: not a glTF 2.0 binary (.glb)`);
  if (dv.getUint32(8, true) !== bytes.byteLength) throw new Error(`${name}: header says ${dv.getUint32(8, true)} bytes, found ${bytes.byteLength}`);
  const jsonLength = dv.getUint32(12, true);
  if (dv.getUint32(16, true) !== CHUNK_JSON || 20 + jsonLength > bytes.byteLength) throw new Error(`${name}: the first chunk must be JSON within the file`);
  const json = JSON.parse(new TextDecoder().decode(bytes.subarray(20, 20 + jsonLength))) as Record<string, unknown>;
  const at = 20 + jsonLength;
  if (at === bytes.byteLength) return { json, bin: new Uint8Array(0) };
  const binLength = dv.getUint32(at, true);
  if (dv.getUint32(at + 4, true) !== CHUNK_BIN || at + 8 + binLength > bytes.byteLength) throw new Error(`${name}: the second chunk must be BIN within the file`);
  return { json, bin: bytes.subarray(at + 8, at + 8 + binLength) };
}
