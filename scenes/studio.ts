/**
 * The texture studio: one lit mesh wearing the editor's generation, tiled, slowly turning, on a dark
 * backdrop. The mesh can be swapped (cube, sphere, torus knot, plane) without restarting the
 * generation; the camera orbits with the pointer. With material maps on, the generation's normal,
 * roughness and ambient-occlusion maps (made on the GPU with every image) light the surface too.
 */
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import {
  BoxGeometry,
  Color,
  DirectionalLight,
  DoubleSide,
  HemisphereLight,
  Mesh,
  MeshStandardNodeMaterial,
  PerspectiveCamera,
  PlaneGeometry,
  Scene,
  SphereGeometry,
  TorusKnotGeometry,
  type BufferGeometry,
} from 'three/webgpu';
import { normalMap } from 'three/tsl';
import { GeneratedTexture } from './generated-texture.ts';
import type { GeneratedScene, SceneContext, SlotMaterial } from './scene.ts';

export const STUDIO_MESHES = ['cube', 'sphere', 'torus knot', 'plane', 'tiles'] as const;
export type StudioMesh = (typeof STUDIO_MESHES)[number];

export interface StudioOptions {
  /** Default 'cube'. */
  mesh?: StudioMesh;
  /** Repeats of the image along each axis of the UV square, 1..16. Default 1. */
  tiling?: number;
  /** Radians per second the mesh turns (0: still). Default 0.4. */
  spin?: number;
  /** Light the surface with the generation's material maps. Default true. */
  maps?: boolean;
}

/** Roughness of the surface without maps (and the roughness map's placeholder). */
const ROUGHNESS = 0.55;

/** Radians of yaw given to the mesh at rest, so three faces of the cube show. */
const REST_YAW = 0.6;
/** 'tiles': the texture 3 x 3 on a still square facing the camera, to see how it tiles (and, lit from the side, its relief). */
const TILES = 3;

export class StudioScene implements GeneratedScene {
  readonly scene = new Scene();
  readonly camera = new PerspectiveCamera(40, 1, 0.1, 100);
  private readonly slot: number;
  private readonly surface: GeneratedTexture;
  /** The material maps' textures, bound while the slot has maps. */
  private readonly maps: Record<keyof SlotMaterial, GeneratedTexture>;
  private mapsBound = false;
  private mapsOn: boolean;
  private readonly material: MeshStandardNodeMaterial;
  private readonly mesh: Mesh;
  private readonly controls: OrbitControls;
  private meshKind: StudioMesh;
  private tiling = 1;
  private spin: number;

  constructor(private readonly ctx: SceneContext, options: StudioOptions = {}) {
    this.scene.background = new Color(0x202226);
    this.scene.add(new HemisphereLight(0xf2f4ff, 0x404048, 1.4));
    const key = new DirectionalLight(0xffffff, 2.2);
    key.position.set(3, 4, 5);
    this.scene.add(key);
    this.camera.position.set(0, 0.6, 4.2);
    this.camera.lookAt(0, 0, 0);
    this.controls = new OrbitControls(this.camera, ctx.renderer.domElement);
    this.controls.enableDamping = true;
    this.surface = new GeneratedTexture(ctx.renderer);
    const rough = Math.round(ROUGHNESS * 255);
    this.maps = {
      normal: new GeneratedTexture(ctx.renderer, [128, 128, 255]),
      roughness: new GeneratedTexture(ctx.renderer, [rough, rough, rough]),
      ao: new GeneratedTexture(ctx.renderer, [255, 255, 255]),
    };
    this.material = new MeshStandardNodeMaterial({ roughness: ROUGHNESS, metalness: 0, side: DoubleSide });
    this.material.colorNode = this.surface.colorNode;
    for (const t of [this.surface, ...Object.values(this.maps)]) t.usedBy(this.material);
    this.mapsOn = options.maps ?? true;
    this.meshKind = checkMesh(options.mesh ?? 'cube');
    this.mesh = new Mesh(geometryOf(this.meshKind), this.material);
    this.pose();
    this.scene.add(this.mesh);
    this.spin = options.spin ?? 0.4;
    this.setTiling(options.tiling ?? 1);
    this.slot = ctx.slots.acquire(0, { visible: true, selected: true, material: this.mapsOn });
  }

  get focusSlot(): number {
    return this.slot;
  }

  get meshName(): StudioMesh {
    return this.meshKind;
  }

  /** Swaps the mesh; the texture stays. */
  setMesh(kind: StudioMesh): void {
    if (checkMesh(kind) === this.meshKind) return;
    this.mesh.geometry.dispose();
    this.mesh.geometry = geometryOf(kind);
    this.meshKind = kind;
    this.pose();
    this.applyTiling();
  }

  /** Sets how many times the image repeats along each axis (1..16; the tiles preview always shows 3 x 3). */
  setTiling(n: number): void {
    if (!Number.isInteger(n) || n < 1 || n > 16) throw new Error(`tiling must be a whole number in [1, 16], found ${n}`);
    this.tiling = n;
    this.applyTiling();
  }

  private applyTiling(): void {
    const n = this.meshKind === 'tiles' ? TILES : this.tiling;
    for (const t of [this.surface, ...Object.values(this.maps)]) t.setTiling(n);
  }

  /** The mesh's rest pose: turned to show three faces, or square to the camera for the tiles preview. */
  private pose(): void {
    if (this.meshKind === 'tiles') this.mesh.rotation.set(0, 0, 0);
    else this.mesh.rotation.set(0.35, REST_YAW, 0);
  }

  /** Turns the material maps on or off (the generation makes them only while they are on). */
  setMaps(on: boolean): void {
    if (on === this.mapsOn) return;
    this.mapsOn = on;
    this.ctx.slots.hint(this.slot, { material: on });
    if (!on) this.setMaterial(this.slot, undefined);
  }

  /** Whether the surface wears material maps now. */
  get mapsShown(): boolean {
    return this.mapsBound;
  }

  /** The mesh as arrays, its UVs scaled by the tiling (what a .glb export of the studio holds). */
  meshArrays(): { positions: Float32Array; normals: Float32Array; uvs: Float32Array; indices: Uint16Array | Uint32Array } {
    const g = this.mesh.geometry;
    const tiling = this.surface.repeat.value.x;
    const index = g.getIndex()!.array;
    return {
      positions: Float32Array.from(g.getAttribute('position').array as ArrayLike<number>),
      normals: Float32Array.from(g.getAttribute('normal').array as ArrayLike<number>),
      uvs: Float32Array.from(g.getAttribute('uv').array as ArrayLike<number>, (v) => v * tiling),
      indices: index instanceof Uint32Array ? Uint32Array.from(index) : Uint16Array.from(index as ArrayLike<number>),
    };
  }

  /** Sets the turning speed in radians per second (0: still). */
  setSpin(radiansPerSecond: number): void {
    this.spin = radiansPerSecond;
  }

  setTexture(slot: number, texture: GPUTexture | undefined): void {
    if (slot === this.slot) this.surface.bind(texture);
  }

  textureWritten(slot: number): void {
    if (slot !== this.slot) return;
    this.surface.written();
    if (this.mapsBound) for (const m of Object.values(this.maps)) m.written();
  }

  setMaterial(slot: number, maps: SlotMaterial | undefined): void {
    if (slot !== this.slot) return;
    const bind = maps !== undefined && this.mapsOn;
    for (const kind of ['normal', 'roughness', 'ao'] as const) this.maps[kind].bind(bind ? maps[kind] : undefined);
    if (bind === this.mapsBound) return;
    this.mapsBound = bind;
    this.material.normalNode = bind ? normalMap(this.maps.normal.dataNode.xyz) : null;
    this.material.roughnessNode = bind ? this.maps.roughness.dataNode.x : null;
    this.material.aoNode = bind ? this.maps.ao.dataNode.x : null;
    this.material.needsUpdate = true;
  }

  update(dt: number): void {
    if (this.meshKind !== 'tiles') this.mesh.rotation.y += this.spin * dt;
    this.controls.update(dt);
  }

  resize(width: number, height: number): void {
    this.camera.aspect = width / Math.max(1, height);
    this.camera.updateProjectionMatrix();
  }

  dispose(): void {
    this.ctx.slots.release(this.slot);
    this.controls.dispose();
    this.mesh.geometry.dispose();
    this.material.dispose();
    this.surface.dispose();
    for (const m of Object.values(this.maps)) m.dispose();
  }
}

function checkMesh(kind: string): StudioMesh {
  if (!(STUDIO_MESHES as readonly string[]).includes(kind)) throw new Error(`studio mesh must be one of ${STUDIO_MESHES.join(', ')}, found '${kind}'`);
  return kind as StudioMesh;
}

function geometryOf(kind: StudioMesh): BufferGeometry {
  switch (kind) {
    case 'cube':
      return new BoxGeometry(1.5, 1.5, 1.5);
    case 'sphere':
      return new SphereGeometry(1, 64, 32);
    case 'torus knot':
      return new TorusKnotGeometry(0.62, 0.22, 256, 32);
    case 'plane':
      return new PlaneGeometry(2, 2);
    case 'tiles':
      return new PlaneGeometry(2.4, 2.4);
  }
}
