/**
 * The editor: one engine (generations scheduled into each frame's GPU budget), one scene drawn by a
 * WebGPURenderer on the same device, a model, and the pane. Each animation frame runs the engine's
 * systems (which submit work and never wait), advances the scene, and renders it; textures reach the
 * scene through the engine's texture listener. A model that fails to load leaves the running one in
 * place; a refused setting leaves the previous value in force.
 */
import type { WebGPURenderer } from 'three/webgpu';
import {
  addModel,
  createEngine,
  disposeEngine,
  getGenerationSettings,
  getProgress,
  getTexture,
  removeModel,
  runFrame,
  setBudget,
  setMaterialListener,
  setTextureListener,
  type Engine,
  type Progress,
} from '../runtime/ecs/index.ts';
import { ModelFileError, type AnyModel, type Gpu } from '../runtime/index.ts';
import { writeGlb, type GlbTextures } from '../runtime/io/glb.ts';
import { encodePng } from '../runtime/io/png.ts';
import { createScene, StudioScene, type GeneratedScene } from '../scenes/index.ts';
import type { VideoSceneContext } from '../scenes/video.ts';
import { download, readTexturePixels, texturePng } from './export-png.ts';
import { cacheUsage, describeUsage, forgetCachedModels } from './model-cache.ts';
import { describeModel, loadDroppedModel, loadModelFolder } from './models.ts';
import { EditorPane } from './pane.ts';
import { checkSetting, familySampling, saveSettings, SEED_LIMIT, type EditorSettings, type StartSettings } from './settings.ts';
import { EngineSlots, type SharedSettings } from './slots.ts';
import { EditorVideo } from './video-pane.ts';

/** One frame as the editor saw it (kept for the read-outs and for tests). */
export interface FrameRecord {
  /** rAF timestamp, ms. */
  t: number;
  /** Units of generation work, dispatches, and their estimated GPU ms this frame. */
  units: number;
  dispatches: number;
  estimatedMs: number;
  budgetMs: number;
  /** GPU ms measured for the last frame whose work completed. */
  measuredMs: number;
  /** CPU ms the engine's frame took (its systems, recording and submitting). */
  cpuMs: number;
}

const FRAME_LOG = 2000;
const DROP_HINT = 'Drop a model folder (config.json + weights.safetensors) or the two .pth checkpoints on the page to load them.';
/** Frames averaged by the read-outs. */
const WINDOW = 30;

export class Editor {
  readonly engine: Engine;
  readonly slots: EngineSlots;
  readonly pane: EditorPane;
  /** The video the video scene plays, and its pane folder. */
  readonly video: EditorVideo;
  readonly settings: EditorSettings;
  /** The last frames, oldest first. */
  readonly frames: FrameRecord[] = [];
  scene: GeneratedScene;
  private loaded: { id: number; model: AnyModel; name: string; files?: readonly File[] } | undefined;
  /** Models replaced by another, disposed once a frame has moved every generation off them. */
  private retired: AnyModel[] = [];
  private loads = 0;
  private raf = 0;
  private lastTime: number | undefined;
  /** When a generation setting last changed, until the focused generation's first preview after it. */
  private changedAt: number | undefined;
  /** Milliseconds from the last settings change to the first preview on screen. */
  private latencyMs: number | undefined;

  constructor(
    readonly gpu: Gpu,
    readonly renderer: WebGPURenderer,
    paneContainer: HTMLElement,
    start: StartSettings,
    private readonly storage: Storage | undefined,
  ) {
    this.settings = start.settings;
    this.engine = createEngine(gpu, { budgetMs: this.settings.budgetMs, mipmaps: true });
    this.slots = new EngineSlots(this.engine, sharedOf(this.settings));
    this.pane = new EditorPane(paneContainer, this.settings, {
      change: (key, value) => this.change(key, value),
      rollSeed: () => this.change('seed', Math.floor(Math.random() * SEED_LIMIT)),
      exportPng: () => void this.exportPng(),
      exportGlb: () => void this.exportGlb(),
      forgetCache: () => void this.forgetCachedModels(),
    });
    this.pane.say(start.messages.length ? start.messages.join('\n') : DROP_HINT);
    this.pane.readouts.adapter = `${gpu.adapterName}${gpu.isSoftware ? ' (software)' : ''}\n${gpu.kernelStyle} kernels`;
    this.video = new EditorVideo(this.engine, this.pane.addFolder('video'), sharedOf(this.settings), (message) => this.pane.say(message));
    this.scene = this.makeScene();
    setTextureListener(this.engine, (eid, texture, change) => {
      if (change === 'created') this.scene.setTexture(eid, texture);
      else if (change === 'written') {
        this.scene.textureWritten(eid);
        if (this.changedAt !== undefined && eid === this.scene.focusSlot) {
          this.latencyMs = performance.now() - this.changedAt;
          this.changedAt = undefined;
        }
      }
      else this.scene.setTexture(eid, undefined);
    });
    setMaterialListener(this.engine, (eid, maps) => this.scene.setMaterial?.(eid, maps));
  }

  /** Starts the frame loop and loads `model` (default: the model of the settings). */
  start(model: string | readonly File[] = this.settings.model): void {
    this.raf = requestAnimationFrame(this.frame);
    void this.loadModel(model);
    void this.refreshCacheUsage();
  }

  /** The files of the running model when it came from a drop (to load it again on a new device). */
  get droppedModel(): readonly File[] | undefined {
    return this.loaded?.files;
  }

  /**
   * Applies one setting, or returns the message that refuses it (the previous value stays in force).
   *
   * @example
   *   editor.change('classLabel', 12); // 'class must be a whole number in [0, 9], found 12' (a 10-class model)
   */
  change<K extends keyof EditorSettings>(key: K, value: EditorSettings[K]): string | undefined {
    const refusal = checkSetting(key, value, { numClasses: numClassesOf(this.loaded?.model) });
    if (refusal) return refusal;
    this.pane.say('');
    if (key === 'model') {
      // Kept only once it has loaded: a failed URL is neither in force nor remembered.
      void this.loadModel(value as string);
      return undefined;
    }
    this.settings[key] = value;
    this.pane.show(key);
    saveSettings(this.settings, this.storage);
    switch (key) {
      case 'budgetMs':
        setBudget(this.engine, value as number);
        break;
      case 'scene':
        this.scene.dispose();
        this.scene = this.makeScene();
        break;
      case 'mesh':
        this.studio()?.setMesh(this.settings.mesh);
        break;
      case 'tiling':
        this.studio()?.setTiling(this.settings.tiling);
        break;
      case 'maps':
        this.studio()?.setMaps(this.settings.maps);
        break;
      default:
        this.changedAt = performance.now();
        this.slots.setShared(sharedOf(this.settings));
        this.video.setShared(sharedOf(this.settings));
    }
    return undefined;
  }

  /**
   * Loads a model: a folder URL (kept in the settings once it has loaded) or dropped files (for this
   * visit only). On success every generation moves to it; on failure the running model stays.
   */
  async loadModel(source: string | readonly File[]): Promise<void> {
    const load = ++this.loads;
    const url = typeof source === 'string' ? source : undefined;
    const files = typeof source === 'string' ? [] : source;
    const name = url ?? (files.filter((f) => f.name !== 'config.json').map((f) => f.name).join(' + ') || 'dropped files');
    const status = (text: string) => {
      if (load === this.loads) this.pane.readouts.model = text;
    };
    status(`loading ${name} …`);
    try {
      const folder = url !== undefined ? await loadModelFolder(this.gpu, url, (loaded, total) => status(`loading ${name}: ${total > 0 ? Math.round((100 * loaded) / total) : 0}%`)) : undefined;
      const model = folder?.model ?? (await loadDroppedModel(this.gpu, files));
      if (load !== this.loads) {
        model.dispose();
        return;
      }
      const previous = this.loaded;
      this.loaded = { id: addModel(this.engine, model), model, name, files: url === undefined ? files : undefined };
      this.slots.setModel(this.loaded.id);
      this.video.setModel(this.loaded.id);
      if (previous) {
        removeModel(this.engine, previous.id);
        this.retired.push(previous.model);
      }
      if (url !== undefined) {
        this.settings.model = url;
        saveSettings(this.settings, this.storage);
      }
      this.pane.show('model');
      this.pane.showConditioning(model.config.family === 'unified' ? 'prompt' : 'class');
      // Sampling left at the previous family's defaults moves to this family's (the settings start at the unified ones).
      const switched = familySampling(this.settings, previous?.model.config.family ?? 'unified', model.config.family);
      if (Object.keys(switched).length) {
        Object.assign(this.settings, switched);
        for (const k of Object.keys(switched) as (keyof EditorSettings)[]) this.pane.show(k);
        this.slots.setShared(sharedOf(this.settings));
        this.video.setShared(sharedOf(this.settings));
        saveSettings(this.settings, this.storage);
      }
      status(describeModel(name, model) + (folder?.cached ? ' (from the browser cache)' : ''));
      if (folder?.warnings.length) this.pane.say(folder.warnings.join('\n'));
      void this.refreshCacheUsage();
      const refusal = checkSetting('classLabel', this.settings.classLabel, { numClasses: numClassesOf(model) });
      if (model.config.family === 'var' && refusal) this.pane.say(`${refusal}: choose a class this model has`);
    } catch (e) {
      if (load !== this.loads) return;
      // A bad file or a failed download says what is wrong; a TypeError or RangeError is the runtime's own fault, and says so.
      const cause = e instanceof ModelFileError && e.cause !== undefined ? e.cause : e;
      const internal = cause instanceof TypeError || cause instanceof RangeError || cause instanceof ReferenceError;
      const text = e instanceof Error ? e.message : String(e);
      const message = internal ? `an error in the runtime, not in the files (${(cause as Error).name}: ${text})` : text;
      this.pane.show('model');
      status(this.loaded ? describeModel(this.loaded.name, this.loaded.model) : 'no model loaded');
      this.pane.say(`model ${name} failed to load: ${message}${this.loaded ? ` (still running ${this.loaded.name})` : ''}`);
    }
  }

  /** Shows what the model cache holds. */
  async refreshCacheUsage(): Promise<void> {
    this.pane.readouts.cache = describeUsage(await cacheUsage());
  }

  /** Empties the model cache: every model downloads again on its next load. */
  async forgetCachedModels(): Promise<void> {
    await forgetCachedModels();
    await this.refreshCacheUsage();
    this.pane.say('cached models forgotten: each downloads again on its next load');
  }

  /**
   * Makes a variation the studio's texture: the seed moves to that variation's and the studio shows it,
   * generated again from the same settings (so it is the same image).
   */
  chooseVariant(variant: number): void {
    this.change('seed', (this.settings.seed + variant) % SEED_LIMIT);
    this.change('scene', 'studio');
    this.pane.say(`variation ${variant} chosen: seed ${this.settings.seed} in the studio`);
  }

  /** A click on the canvas at (x, y), in normalised device coordinates: chooses the variation there, if any. */
  click(x: number, y: number): void {
    const variant = this.scene.variantAt?.(x, y);
    if (variant !== undefined) this.chooseVariant(variant);
  }

  /** Where the scene's focused generation stands. */
  focusProgress(): Progress | undefined {
    const slot = this.scene.focusSlot;
    return slot !== undefined && this.slots.has(slot) ? getProgress(this.engine, slot) : undefined;
  }

  /** The focused generation's texture as RGBA bytes (undefined before it has one). */
  async focusPixels(): Promise<Uint8ClampedArray | undefined> {
    const texture = this.focusTexture();
    return texture && readTexturePixels(this.gpu.device, texture);
  }

  /**
   * Downloads the studio's mesh wearing the generation and, while material maps are on, its normal and
   * occlusion-roughness-metallic maps, as a binary glTF (the texture tool's hand-off to an engine).
   */
  async exportGlb(): Promise<void> {
    const studio = this.studio();
    const slot = this.scene.focusSlot;
    const texture = this.focusTexture();
    if (!studio || slot === undefined || !texture) {
      this.pane.say(studio ? 'export: no generated image yet' : 'export glb: the studio scene exports its mesh');
      return;
    }
    try {
      const { width: w, height: h } = texture;
      const read = (t: GPUTexture) => readTexturePixels(this.gpu.device, t);
      const png = (rgba: Uint8ClampedArray) => encodePng(new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.byteLength), w, h);
      const maps = this.engine.materials.get(slot)?.textures;
      const textures: GlbTextures = { baseColor: png(await read(texture)) };
      if (maps) {
        const [ao, roughness] = [await read(maps.ao), await read(maps.roughness)];
        const orm = new Uint8ClampedArray(w * h * 4);
        for (let i = 0; i < w * h; i++) orm.set([ao[4 * i], roughness[4 * i + 1], 0, 255], 4 * i);
        textures.normal = png(await read(maps.normal));
        textures.occlusionRoughnessMetallic = png(orm);
      }
      const name = pngName(this.loaded?.model, getGenerationSettings(this.engine, slot)).replace(/\.png$/, '');
      download(new Blob([writeGlb(name, studio.meshArrays(), textures)], { type: 'model/gltf-binary' }), `${name}.glb`);
    } catch (e) {
      this.pane.say(`export failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Downloads the focused generation's image as a PNG. */
  async exportPng(): Promise<void> {
    const slot = this.scene.focusSlot;
    const texture = this.focusTexture();
    if (slot === undefined || !texture) {
      this.pane.say('export: no generated image yet');
      return;
    }
    try {
      const s = this.video.has(slot) ? undefined : getGenerationSettings(this.engine, slot);
      download(await texturePng(this.gpu.device, texture), s ? pngName(this.loaded?.model, s) : this.video.pngName(slot));
    } catch (e) {
      this.pane.say(`export failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** The canvas was resized (CSS pixels). */
  resize(width: number, height: number): void {
    this.renderer.setSize(width, height, false);
    this.scene.resize(width, height);
  }

  dispose(): void {
    cancelAnimationFrame(this.raf);
    this.scene.dispose();
    this.video.dispose();
    disposeEngine(this.engine);
    this.loaded?.model.dispose();
    for (const m of this.retired) m.dispose();
    this.pane.dispose();
  }

  private readonly frame = (now: number): void => {
    this.raf = requestAnimationFrame(this.frame);
    const dt = this.lastTime === undefined ? 0 : Math.min((now - this.lastTime) / 1000, 0.25);
    this.lastTime = now;
    const retired = this.retired;
    this.retired = [];
    try {
      runFrame(this.engine, now);
    } catch (e) {
      this.pane.say(`frame failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const m of retired) m.dispose();
    this.scene.update(dt);
    this.renderer.render(this.scene.scene, this.scene.camera);
    this.record(now);
  };

  private record(now: number): void {
    const s = this.engine.stats;
    this.frames.push({ t: now, units: s.units, dispatches: s.dispatches, estimatedMs: s.estimatedMs, budgetMs: this.engine.budget.ms, measuredMs: s.measuredMs, cpuMs: s.cpuMs });
    if (this.frames.length > FRAME_LOG) this.frames.splice(0, this.frames.length - FRAME_LOG);
    const recent = this.frames.slice(-WINDOW);
    const r = this.pane.readouts;
    const span = recent.length > 1 ? (recent[recent.length - 1].t - recent[0].t) / (recent.length - 1) : 0;
    r.fps = span > 0 ? `${(1000 / span).toFixed(1)} fps` : '';
    r.gpuMs = `planned ${s.estimatedMs.toFixed(1)} of budget ${this.engine.budget.ms}\nmeasured ${s.measuredMs.toFixed(1)} (frame ${s.measuredFrame})`;
    r.dispatches = `${s.dispatches} (mean ${(recent.reduce((a, f) => a + f.dispatches, 0) / recent.length).toFixed(1)})`;
    r.cpuMs = `${s.cpuMs.toFixed(2)} (mean ${(recent.reduce((a, f) => a + f.cpuMs, 0) / recent.length).toFixed(2)})`;
    r.latency = this.latencyMs === undefined ? (this.changedAt === undefined ? '' : 'waiting for the first preview') : `${this.latencyMs.toFixed(0)} ms`;
    r.progress = progressText(this.focusProgress(), this.loaded !== undefined);
    const { done, all } = this.slots.doneCount();
    r.generations = `${done} of ${all} done`;
  }

  private focusTexture(): GPUTexture | undefined {
    const slot = this.scene.focusSlot;
    return slot !== undefined && (this.slots.has(slot) || this.video.has(slot)) ? getTexture(this.engine, slot) : undefined;
  }

  private makeScene(): GeneratedScene {
    const s = this.settings;
    const ctx: VideoSceneContext = { renderer: this.renderer, slots: this.slots, video: this.video };
    const scene = createScene(s.scene, ctx, { studio: { mesh: s.mesh, tiling: s.tiling, maps: s.maps } });
    const size = this.renderer.domElement;
    scene.resize(size.clientWidth || size.width, size.clientHeight || size.height);
    this.pane.showStudio(s.scene === 'studio');
    return scene;
  }

  private studio(): StudioScene | undefined {
    return this.scene instanceof StudioScene ? this.scene : undefined;
  }
}

function sharedOf(s: EditorSettings): SharedSettings {
  return { classLabel: s.classLabel, prompt: s.prompt, seed: s.seed, cfg: s.cfg, topK: s.topK, topP: s.topP, temperature: s.temperature };
}

/** The class count of a class-conditional model (undefined for other families, or before one has loaded). */
function numClassesOf(model: AnyModel | undefined): number | undefined {
  return model?.config.family === 'var' ? model.config.var.numClasses : undefined;
}

/** 'nextscale-class3-seed7.png', or 'nextscale-red-and-blue-checker-seed7.png' for a prompt. */
function pngName(model: AnyModel | undefined, s: { classLabel: number; prompt?: string; seed: number }): string {
  if (model?.config.family !== 'unified') return `nextscale-class${s.classLabel}-seed${s.seed}.png`;
  const words = (s.prompt ?? '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 48);
  return `nextscale-${words || 'prompt'}-seed${s.seed}.png`;
}

/** 'scale 2 of 4', 'done: scale 4 of 4', or why there is no progress. */
function progressText(p: Progress | undefined, hasModel: boolean): string {
  if (!p) return '';
  if (p.state === 'error') return hasModel ? `error: ${p.error ?? 'unknown'}` : 'waiting for the model';
  if (p.state === 'idle') return hasModel ? 'starting' : 'waiting for the model';
  return `${p.state === 'done' ? 'done: ' : ''}scale ${p.scale} of ${p.scales}`;
}
