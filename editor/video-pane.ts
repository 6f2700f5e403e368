/**
 * The editor's video: the one video entity the video scene plays, made with the editor's shared
 * settings (class, seed and sampling from the generation folder: a change reaches the video at its
 * next keyframe), and the pane folder that drives it: play/pause, a scrub slider that follows the
 * playhead, loop, speed, frames per keyframe, previews, the next-frame top-k (shown for a model
 * trained on clips, whose frames continue each other), and a status read-out. The folder shows only
 * while a video exists. Each control's element carries `data-video` with its name.
 */
import {
  addVideo,
  getVideoSettings,
  getVideoStatus,
  pauseVideo,
  playVideo,
  removeVideo,
  seekVideo,
  setVideoSettings,
  type Engine,
  type VideoSettings,
  type VideoStatus,
} from '../runtime/ecs/index.ts';
import { defaultKeyframeEvery } from '../runtime/video/sources.ts';
import { NEXT_FRAME_TOP_K } from '../runtime/video/keyframes.ts';
import { UnifiedModel } from '../runtime/models/unified/model.ts';
import type { VideoPlayer } from '../scenes/video.ts';
import type { TpBinding, TpFolder } from './pane.ts';
import type { SharedSettings } from './slots.ts';

/** Frames of the editor's clip (12 fps: four seconds). */
export const CLIP_FRAMES = 48;
const SYNC_MS = 200;

/** The video's own settings, as the pane edits them. */
interface Controls {
  frame: number;
  loop: boolean;
  speed: number;
  keyframeEvery: number;
  nextFrameTopK: number;
  showPreviews: boolean;
}

export class EditorVideo implements VideoPlayer {
  private id: number | undefined;
  private model = 0;
  private readonly controls: Controls = { frame: 0, loop: true, speed: 1, keyframeEvery: 8, nextFrameTopK: NEXT_FRAME_TOP_K, showPreviews: false };
  private readonly scrub: TpBinding<number>;
  private readonly bindings = new Map<keyof Controls, TpBinding<unknown>>();
  private readonly timer: ReturnType<typeof setInterval>;
  /** Set while the slider is moved to follow the playhead, so that move is not taken for a seek. */
  private following = false;
  readonly readouts = { status: '' };

  constructor(
    private readonly engine: Engine,
    private readonly folder: TpFolder,
    private shared: SharedSettings,
    private readonly say: (message: string) => void,
  ) {
    const c = this.controls;
    folder.hidden = true;
    folder.addButton({ title: 'play / pause' }).on('click', () => this.toggle()).element.dataset.video = 'play';
    this.scrub = folder.addBinding(c, 'frame', { min: 0, max: CLIP_FRAMES - 1, step: 1 });
    this.scrub.element.dataset.video = 'frame';
    this.scrub.on('change', (ev) => {
      if (!this.following && this.id !== undefined) seekVideo(this.engine, this.id, Math.round(ev.value));
    });
    this.bind('loop', {}, (v) => ({ loop: v }));
    this.bind('speed', { min: -4, max: 4, step: 0.25 }, (v) => ({ speed: v }));
    this.bind('keyframeEvery', { label: 'frames per keyframe', step: 1 }, (v) => {
      if (Number.isInteger(v) && v >= 1 && v <= CLIP_FRAMES) return { keyframeEvery: v };
      this.say(`frames per keyframe must be a whole number in [1, ${CLIP_FRAMES}], found ${v}`);
      return undefined;
    });
    this.bind('nextFrameTopK', { label: 'next-frame top-k', step: 1 }, (v) => {
      if (Number.isInteger(v) && v >= 0) return { nextFrameTopK: v };
      this.say(`next-frame top-k must be a whole number >= 0, found ${v}`);
      return undefined;
    });
    this.bindings.get('nextFrameTopK')!.hidden = true;
    this.bind('showPreviews', { label: 'show previews' }, (v) => ({ showPreviews: v }));
    folder.addBinding(this.readouts, 'status', { readonly: true, interval: SYNC_MS, multiline: true, rows: 2 }).element.dataset.video = 'status';
    this.timer = setInterval(() => this.follow(), SYNC_MS);
  }

  acquire(): number {
    if (this.id !== undefined) removeVideo(this.engine, this.id);
    const c = this.controls;
    this.id = addVideo(this.engine, {
      ...this.settings(),
      frames: CLIP_FRAMES,
      loop: c.loop,
      speed: c.speed,
      keyframeEvery: c.keyframeEvery,
      nextFrameTopK: c.nextFrameTopK,
      showPreviews: c.showPreviews,
    });
    this.folder.hidden = false;
    return this.id;
  }

  release(id: number): void {
    if (id !== this.id) return;
    removeVideo(this.engine, id);
    this.id = undefined;
    this.folder.hidden = true;
    this.readouts.status = '';
  }

  status(id: number): VideoStatus | undefined {
    return id === this.id ? getVideoStatus(this.engine, id) : undefined;
  }

  /** Whether `id` is the editor's video. */
  has(id: number): boolean {
    return id === this.id;
  }

  /** 'nextscale-class3-seed7-frame12.png': the name of the shown frame as a PNG. */
  pngName(id: number): string {
    const s = getVideoSettings(this.engine, id);
    return `nextscale-class${s.classLabel}-seed${s.seed}-frame${getVideoStatus(this.engine, id).frame}.png`;
  }

  /** New shared settings: the video takes them from its next keyframe on. */
  setShared(shared: SharedSettings): void {
    this.shared = { ...shared };
    if (this.id !== undefined) setVideoSettings(this.engine, this.id, this.settings());
  }

  /**
   * Points the video at another loaded model (its frames are made again), with the frames per
   * keyframe that suit it: 1 for a model trained on clips (every frame generated), else 8. The
   * next-frame top-k shows only for a model trained on clips.
   */
  setModel(id: number): void {
    this.model = id;
    const model = this.engine.models.get(id);
    if (model) {
      this.controls.keyframeEvery = defaultKeyframeEvery(model);
      this.bindings.get('keyframeEvery')?.refresh();
      this.bindings.get('nextFrameTopK')!.hidden = !(model instanceof UnifiedModel && model.config.unified.frameConditioned);
    }
    if (this.id !== undefined) setVideoSettings(this.engine, this.id, { model: id, keyframeEvery: this.controls.keyframeEvery });
  }

  dispose(): void {
    clearInterval(this.timer);
  }

  private settings(): VideoSettings {
    return { ...this.shared, model: this.model };
  }

  private toggle(): void {
    if (this.id === undefined) return;
    if (getVideoSettings(this.engine, this.id).playing) pauseVideo(this.engine, this.id);
    else playVideo(this.engine, this.id);
  }

  /** A control whose change becomes a video setting (or a refusal, snapping the control back). */
  private bind<K extends Exclude<keyof Controls, 'frame'>>(key: K, params: Record<string, unknown>, toSettings: (v: Controls[K]) => Partial<VideoSettings> | undefined): void {
    const binding = this.folder.addBinding(this.controls, key, params);
    binding.element.dataset.video = key;
    this.bindings.set(key, binding);
    let applied = this.controls[key];
    binding.on('change', (ev) => {
      if (Object.is(ev.value, applied)) return;
      const settings = toSettings(ev.value);
      if (!settings) {
        this.controls[key] = applied;
        binding.refresh();
        return;
      }
      applied = ev.value;
      if (this.id !== undefined) setVideoSettings(this.engine, this.id, settings);
    });
  }

  /** Moves the slider with the playhead and refreshes the status read-out. */
  private follow(): void {
    if (this.id === undefined) return;
    const s = getVideoStatus(this.engine, this.id);
    this.readouts.status = this.model === 0 ? 'waiting for the model' : s.state === 'error' ? `error: ${s.error ?? 'unknown'}` : statusText(s);
    if (this.controls.frame === s.frame) return;
    this.controls.frame = s.frame;
    this.following = true;
    this.scrub.refresh();
    this.following = false;
  }
}

/** 'buffering: frame 5 of 48 (showing 4)' over '0 ready ahead, 3 stalls'. */
function statusText(s: VideoStatus): string {
  const showing = s.shown >= 0 && s.shown !== s.frame ? ` (showing ${s.shown + 1})` : '';
  return `${s.state}: frame ${s.frame + 1} of ${s.frames}${showing}\n${s.buffered} ready ahead, ${s.stalls} stalls`;
}
