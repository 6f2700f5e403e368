/**
 * The video screen: a monitor in a dim room whose picture is the newest image any of the scene's
 * generations wrote. Video generation (frames made ahead of a playhead) is a later issue; until then the
 * screen shows the editor's own generation as it sharpens, scale by scale. The picture is unlit (a
 * screen emits its light) and casts a faint glow on the floor.
 */
import {
  BoxGeometry,
  Color,
  HemisphereLight,
  Mesh,
  MeshBasicNodeMaterial,
  MeshStandardNodeMaterial,
  PerspectiveCamera,
  PlaneGeometry,
  PointLight,
  Scene,
} from 'three/webgpu';
import { GeneratedTexture } from './generated-texture.ts';
import type { GeneratedScene, SceneContext } from './scene.ts';

/** Side of the square picture, in world units. */
const SCREEN = 1.6;

export class VideoScene implements GeneratedScene {
  readonly scene = new Scene();
  readonly camera = new PerspectiveCamera(38, 1, 0.1, 100);
  private readonly slot: number;
  private readonly surface: GeneratedTexture;
  private readonly meshes: Mesh[] = [];
  private readonly textures = new Map<number, GPUTexture>();
  private newest: number | undefined;
  private time = 0;

  constructor(private readonly ctx: SceneContext) {
    this.scene.background = new Color(0x0c0d10);
    this.scene.add(new HemisphereLight(0x9098a8, 0x101014, 0.6));
    const glow = new PointLight(0xbfd0ff, 3, 6);
    glow.position.set(0, 0.2, 0.8);
    this.scene.add(glow);
    this.surface = new GeneratedTexture(ctx.renderer);
    const picture = new MeshBasicNodeMaterial();
    picture.colorNode = this.surface.colorNode;
    const dark = new MeshStandardNodeMaterial({ color: 0x1b1c20, roughness: 0.35, metalness: 0.2 });
    const floor = new MeshStandardNodeMaterial({ color: 0x26272c, roughness: 0.9 });
    this.add(new Mesh(new PlaneGeometry(SCREEN, SCREEN), picture), 0, 0.25, 0.031);
    this.add(new Mesh(new BoxGeometry(SCREEN + 0.16, SCREEN + 0.16, 0.06), dark), 0, 0.25, 0);
    this.add(new Mesh(new BoxGeometry(0.12, 0.5, 0.06), dark), 0, -0.8, -0.05);
    this.add(new Mesh(new BoxGeometry(0.8, 0.04, 0.4), dark), 0, -1.05, -0.05);
    const ground = new Mesh(new PlaneGeometry(12, 12), floor);
    ground.rotation.x = -Math.PI / 2;
    this.add(ground, 0, -1.07, 0);
    this.camera.position.set(0, 0.1, 4);
    this.camera.lookAt(0, 0, 0);
    this.slot = ctx.slots.acquire(0, { visible: true, selected: true });
  }

  /** The slot whose image is on the screen (the editor's generation before any image arrives). */
  get focusSlot(): number {
    return this.newest ?? this.slot;
  }

  setTexture(slot: number, texture: GPUTexture | undefined): void {
    if (texture) this.textures.set(slot, texture);
    else this.textures.delete(slot);
    if (slot === this.newest && !texture) {
      this.newest = undefined;
      this.surface.bind(undefined);
    }
  }

  textureWritten(slot: number): void {
    const texture = this.textures.get(slot);
    if (!texture) return;
    this.newest = slot;
    this.surface.bind(texture);
    this.surface.written();
  }

  update(dt: number): void {
    this.time += dt;
    this.camera.position.x = 0.35 * Math.sin(this.time * 0.2);
    this.camera.lookAt(0, 0, 0);
  }

  resize(width: number, height: number): void {
    this.camera.aspect = width / Math.max(1, height);
    this.camera.updateProjectionMatrix();
  }

  dispose(): void {
    this.ctx.slots.release(this.slot);
    for (const m of this.meshes) {
      m.geometry.dispose();
      (m.material as MeshBasicNodeMaterial).dispose();
    }
    this.surface.dispose();
  }

  private add(mesh: Mesh, x: number, y: number, z: number): void {
    mesh.position.set(x, y, z);
    this.scene.add(mesh);
    this.meshes.push(mesh);
  }
}
