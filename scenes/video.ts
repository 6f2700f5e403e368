/**
 * The video screen: a monitor in a dim room playing the editor's video (frames generated ahead of the
 * playhead by the engine's video system). The screen samples the video's display texture, which the
 * engine rewrites whenever the frame at the playhead changes; under the screen a status line says
 * "buffering" while playback waits for a frame. The picture is unlit (a screen emits its light) and
 * casts a faint glow on the floor.
 *
 * Without a video player in its context, the screen shows the newest image any of its generations
 * wrote (the editor's own generation, sharpening scale by scale).
 */
import {
  BoxGeometry,
  CanvasTexture,
  Color,
  HemisphereLight,
  Mesh,
  MeshBasicNodeMaterial,
  MeshStandardNodeMaterial,
  PerspectiveCamera,
  PlaneGeometry,
  PointLight,
  Scene,
  SRGBColorSpace,
} from 'three/webgpu';
import type { VideoStatus } from '../runtime/ecs/index.ts';
import { GeneratedTexture } from './generated-texture.ts';
import type { GeneratedScene, SceneContext } from './scene.ts';

/** Side of the square picture, in world units. */
const SCREEN = 1.6;
/** Pixels of the status line's canvas. */
const STATUS_W = 512;
const STATUS_H = 64;

/** The video a scene plays: one per scene, started and stopped by it. */
export interface VideoPlayer {
  /** Starts a video with the editor's settings; returns its id (its display arrives through `setTexture`). */
  acquire(): number;
  /** Stops the video and frees its frames (the scene hears `setTexture(id, undefined)`). */
  release(id: number): void;
  /** Where the video stands (undefined once released). */
  status(id: number): VideoStatus | undefined;
}

/** A scene context that may carry a video player. */
export interface VideoSceneContext extends SceneContext {
  video?: VideoPlayer;
}

export class VideoScene implements GeneratedScene {
  readonly scene = new Scene();
  readonly camera = new PerspectiveCamera(38, 1, 0.1, 100);
  /** The video's id, or the generation slot's when there is no player. */
  private readonly slot: number;
  private readonly surface: GeneratedTexture;
  private readonly meshes: Mesh[] = [];
  private readonly textures = new Map<number, GPUTexture>();
  private readonly statusCanvas: HTMLCanvasElement;
  private readonly statusTexture: CanvasTexture;
  private statusText: string | undefined;
  private newest: number | undefined;
  private time = 0;

  constructor(private readonly ctx: VideoSceneContext) {
    this.scene.background = new Color(0x0c0d10);
    this.scene.add(new HemisphereLight(0x9098a8, 0x101014, 0.6));
    const glow = new PointLight(0xbfd0ff, 3, 6);
    glow.position.set(0, 0.2, 0.8);
    this.scene.add(glow);
    this.surface = new GeneratedTexture(ctx.renderer);
    const picture = new MeshBasicNodeMaterial();
    picture.colorNode = this.surface.colorNode;
    this.surface.usedBy(picture);
    const dark = new MeshStandardNodeMaterial({ color: 0x1b1c20, roughness: 0.35, metalness: 0.2 });
    const floor = new MeshStandardNodeMaterial({ color: 0x26272c, roughness: 0.9 });
    this.add(new Mesh(new PlaneGeometry(SCREEN, SCREEN), picture), 0, 0.25, 0.031);
    this.add(new Mesh(new BoxGeometry(SCREEN + 0.16, SCREEN + 0.16, 0.06), dark), 0, 0.25, 0);
    this.add(new Mesh(new BoxGeometry(0.12, 0.5, 0.06), dark), 0, -0.8, -0.05);
    this.add(new Mesh(new BoxGeometry(0.8, 0.04, 0.4), dark), 0, -1.05, -0.05);
    const ground = new Mesh(new PlaneGeometry(12, 12), floor);
    ground.rotation.x = -Math.PI / 2;
    this.add(ground, 0, -1.07, 0);

    this.statusCanvas = document.createElement('canvas');
    this.statusCanvas.width = STATUS_W;
    this.statusCanvas.height = STATUS_H;
    this.statusTexture = new CanvasTexture(this.statusCanvas);
    this.statusTexture.colorSpace = SRGBColorSpace;
    const label = new MeshBasicNodeMaterial({ map: this.statusTexture, transparent: true });
    this.add(new Mesh(new PlaneGeometry(1.2, 1.2 * (STATUS_H / STATUS_W)), label), 0, -0.68, 0.04);
    this.drawStatus('');

    this.camera.position.set(0, 0.1, 4);
    this.camera.lookAt(0, 0, 0);
    this.slot = ctx.video ? ctx.video.acquire() : ctx.slots.acquire(0, { visible: true, selected: true });
  }

  /** The video (or, without a player, the slot whose image is on the screen). */
  get focusSlot(): number {
    return this.ctx.video ? this.slot : (this.newest ?? this.slot);
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
    if (!texture || (this.ctx.video && slot !== this.slot)) return;
    this.newest = slot;
    this.surface.bind(texture);
    this.surface.written();
  }

  update(dt: number): void {
    this.time += dt;
    this.camera.position.x = 0.35 * Math.sin(this.time * 0.2);
    this.camera.lookAt(0, 0, 0);
    if (this.ctx.video) this.drawStatus(statusLine(this.ctx.video.status(this.slot)));
  }

  resize(width: number, height: number): void {
    this.camera.aspect = width / Math.max(1, height);
    this.camera.updateProjectionMatrix();
  }

  dispose(): void {
    if (this.ctx.video) this.ctx.video.release(this.slot);
    else this.ctx.slots.release(this.slot);
    for (const m of this.meshes) {
      m.geometry.dispose();
      (m.material as MeshBasicNodeMaterial).dispose();
    }
    this.statusTexture.dispose();
    this.surface.dispose();
  }

  /** Redraws the status line when its text changes (nothing is drawn or uploaded otherwise). */
  private drawStatus(text: string): void {
    if (text === this.statusText) return;
    this.statusText = text;
    const g = this.statusCanvas.getContext('2d');
    if (!g) return;
    g.clearRect(0, 0, STATUS_W, STATUS_H);
    g.fillStyle = '#c9d4ff';
    g.font = '500 34px system-ui, sans-serif';
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.fillText(text, STATUS_W / 2, STATUS_H / 2);
    this.statusTexture.needsUpdate = true;
  }

  private add(mesh: Mesh, x: number, y: number, z: number): void {
    mesh.position.set(x, y, z);
    this.scene.add(mesh);
    this.meshes.push(mesh);
  }
}

/** What the line under the screen says: only something worth saying ("buffering", an error). */
function statusLine(status: VideoStatus | undefined): string {
  if (!status) return '';
  if (status.state === 'buffering') return 'buffering';
  if (status.state === 'error') return 'video stopped';
  return '';
}
