/**
 * The gallery: a wall of framed panels, each showing its own generation (the editor's settings with the
 * seed moved by the panel's place on the wall). The camera drifts along the wall; columns that come
 * into view (and one column ahead) get generations, columns left behind release theirs, so the wall
 * keeps refilling. Panels on screen are scheduled first, the one in the middle before all.
 */
import {
  BoxGeometry,
  Color,
  DirectionalLight,
  HemisphereLight,
  Mesh,
  MeshStandardNodeMaterial,
  PerspectiveCamera,
  PlaneGeometry,
  Raycaster,
  Scene,
  Vector2,
} from 'three/webgpu';
import { GeneratedTexture } from './generated-texture.ts';
import type { GeneratedScene, SceneContext, SlotHints } from './scene.ts';

export interface GalleryOptions {
  /** Panels per column, 1..8. Default 3. */
  rows?: number;
  /** How fast the camera drifts along the wall, in panels per second (negative: leftwards). Default 0.15. */
  speed?: number;
}

/** Panel side and distance between panel centres, in world units. */
const PANEL = 0.9;
const PITCH = 1.05;

interface Panel {
  column: number;
  row: number;
  /** The seed offset of its generation from the editor's seed. */
  variant: number;
  slot: number;
  mesh: Mesh;
  frame: Mesh;
  surface: GeneratedTexture;
  material: MeshStandardNodeMaterial;
  /** The hints last given, to send only changes. */
  hints: Required<Omit<SlotHints, 'material'>>;
}

export class GalleryScene implements GeneratedScene {
  readonly scene = new Scene();
  readonly camera = new PerspectiveCamera(40, 1, 0.1, 100);
  private readonly rows: number;
  private readonly speed: number;
  private readonly columns = new Map<number, Panel[]>();
  private readonly bySlot = new Map<number, Panel>();
  private readonly panelGeometry = new PlaneGeometry(PANEL, PANEL);
  private readonly frameGeometry = new BoxGeometry(PANEL + 0.08, PANEL + 0.08, 0.04);
  private readonly frameMaterial = new MeshStandardNodeMaterial({ color: 0x15161a, roughness: 0.8 });
  private focus: Panel | undefined;

  constructor(private readonly ctx: SceneContext, options: GalleryOptions = {}) {
    this.rows = options.rows ?? 3;
    this.speed = options.speed ?? 0.15;
    if (!Number.isInteger(this.rows) || this.rows < 1 || this.rows > 8) throw new Error(`gallery rows must be a whole number in [1, 8], found ${this.rows}`);
    if (!Number.isFinite(this.speed)) throw new Error(`gallery speed must be a finite number, found ${this.speed}`);
    this.scene.background = new Color(0x2a2b30);
    this.scene.add(new HemisphereLight(0xffffff, 0x505058, 1.6));
    const key = new DirectionalLight(0xffffff, 1.5);
    key.position.set(-2, 3, 6);
    this.scene.add(key);
    this.camera.position.set(0, 0, this.rows * PITCH * 1.45);
    this.refill();
  }

  get focusSlot(): number | undefined {
    return this.focus?.slot;
  }

  /** How many panels hold a generation now. */
  get panelCount(): number {
    return this.bySlot.size;
  }

  setTexture(slot: number, texture: GPUTexture | undefined): void {
    this.bySlot.get(slot)?.surface.bind(texture);
  }

  /** Where a slot's panel centre is on the canvas, in normalised device coordinates. */
  pointOf(slot: number): { x: number; y: number } | undefined {
    const p = this.bySlot.get(slot);
    if (!p) return undefined;
    const v = p.mesh.position.clone().project(this.camera);
    return { x: v.x, y: v.y };
  }

  /** The variant of the panel at a point of the canvas (normalised device coordinates), if any. */
  variantAt(x: number, y: number): number | undefined {
    const ray = new Raycaster();
    ray.setFromCamera(new Vector2(x, y), this.camera);
    const hit = ray.intersectObjects([...this.bySlot.values()].map((p) => p.mesh), false)[0];
    return hit ? [...this.bySlot.values()].find((p) => p.mesh === hit.object)?.variant : undefined;
  }

  textureWritten(slot: number): void {
    this.bySlot.get(slot)?.surface.written();
  }

  update(dt: number): void {
    this.camera.position.x += this.speed * PITCH * dt;
    this.refill();
  }

  resize(width: number, height: number): void {
    this.camera.aspect = width / Math.max(1, height);
    this.camera.updateProjectionMatrix();
    this.refill();
  }

  dispose(): void {
    for (const column of [...this.columns.keys()]) this.dropColumn(column);
    this.panelGeometry.dispose();
    this.frameGeometry.dispose();
    this.frameMaterial.dispose();
  }

  /** Gives every column in view (plus one ahead) its panels, drops the others, and updates the hints. */
  private refill(): void {
    const x = this.camera.position.x;
    const halfWidth = Math.tan((this.camera.fov * Math.PI) / 360) * this.camera.position.z * this.camera.aspect;
    const first = Math.ceil((x - halfWidth - PANEL / 2) / PITCH);
    const last = Math.floor((x + halfWidth + PANEL / 2) / PITCH);
    const [keepFrom, keepTo] = this.speed >= 0 ? [first, last + 1] : [first - 1, last];
    for (const column of [...this.columns.keys()]) if (column < keepFrom || column > keepTo) this.dropColumn(column);
    for (let c = keepFrom; c <= keepTo; c++) if (!this.columns.has(c)) this.addColumn(c);
    const middle = Math.round(x / PITCH);
    let focus: Panel | undefined;
    for (const [column, panels] of this.columns) {
      for (const p of panels) {
        const dx = Math.abs(column * PITCH - x);
        const selected = column === middle && p.row === Math.floor(this.rows / 2);
        if (selected) focus = p;
        this.hint(p, { visible: column >= first && column <= last, selected, priority: -Math.round(dx * 100) - Math.abs(p.row - (this.rows - 1) / 2) });
      }
    }
    this.focus = focus;
  }

  private addColumn(column: number): void {
    const panels: Panel[] = [];
    for (let row = 0; row < this.rows; row++) {
      const variant = 1 + zigzag(column) * this.rows + row;
      const hints: Required<Omit<SlotHints, 'material'>> = { visible: false, selected: false, priority: 0 };
      const slot = this.ctx.slots.acquire(variant, hints);
      const surface = new GeneratedTexture(this.ctx.renderer);
      const material = new MeshStandardNodeMaterial({ roughness: 0.45, metalness: 0 });
      material.colorNode = surface.colorNode;
      surface.usedBy(material);
      const mesh = new Mesh(this.panelGeometry, material);
      const frame = new Mesh(this.frameGeometry, this.frameMaterial);
      const y = (row - (this.rows - 1) / 2) * PITCH;
      mesh.position.set(column * PITCH, y, 0.001);
      frame.position.set(column * PITCH, y, -0.021);
      this.scene.add(mesh, frame);
      const panel = { column, row, variant, slot, mesh, frame, surface, material, hints };
      panels.push(panel);
      this.bySlot.set(slot, panel);
    }
    this.columns.set(column, panels);
  }

  private dropColumn(column: number): void {
    for (const p of this.columns.get(column) ?? []) {
      this.bySlot.delete(p.slot);
      this.ctx.slots.release(p.slot);
      this.scene.remove(p.mesh, p.frame);
      p.material.dispose();
      p.surface.dispose();
      if (this.focus === p) this.focus = undefined;
    }
    this.columns.delete(column);
  }

  private hint(p: Panel, hints: Required<Omit<SlotHints, 'material'>>): void {
    if (hints.visible === p.hints.visible && hints.selected === p.hints.selected && hints.priority === p.hints.priority) return;
    p.hints = hints;
    this.ctx.slots.hint(p.slot, hints);
  }
}

/** Maps …, -2, -1, 0, 1, 2, … to 3, 1, 0, 2, 4: distinct whole numbers for every column. */
function zigzag(n: number): number {
  return n >= 0 ? 2 * n : -2 * n - 1;
}
