/**
 * The editor's tweakpane: inputs for every setting, read-outs for the model, the generation's progress
 * and the frame's numbers, and above them a message box that grows with its text, so a refusal, an
 * error or the drop hint always reads whole. Inputs are bound to a draft copy of the settings; a
 * change is offered to the editor, which applies it or refuses it with a message, and a refused value
 * snaps back to the one in force. Each control's element carries `data-setting` or `data-readout`
 * with its name (what the end-to-end tests and user styles select).
 */
import { Pane } from 'tweakpane';
import { SCENE_NAMES, STUDIO_MESHES } from '../scenes/index.ts';
import type { EditorSettings } from './settings.ts';

/** The part of Tweakpane's API used here (its declarations need a package that is not installed). */
export interface TpBinding<T> {
  readonly element: HTMLElement;
  hidden: boolean;
  refresh(): void;
  on(event: 'change', handler: (ev: { value: T }) => void): TpBinding<T>;
}
export interface TpButton {
  readonly element: HTMLElement;
  on(event: 'click', handler: () => void): TpButton;
}
export interface TpFolder {
  readonly element: HTMLElement;
  hidden: boolean;
  addBinding<O extends object, K extends keyof O & string>(object: O, key: K, params?: Record<string, unknown>): TpBinding<O[K]>;
  addButton(params: { title: string; label?: string }): TpButton;
  addFolder(params: { title: string; expanded?: boolean }): TpFolder;
  refresh(): void;
  dispose(): void;
}

export interface PaneHandlers {
  /** Applies a changed setting; returns the message refusing it, or undefined when applied. */
  change<K extends keyof EditorSettings>(key: K, value: EditorSettings[K]): string | undefined;
  /** A new random seed. */
  rollSeed(): void;
  exportPng(): void;
  /** Downloads the studio's mesh and material as a binary glTF. */
  exportGlb(): void;
  /** Empties the browser's model cache. */
  forgetCache(): void;
}

/** The read-outs, refreshed a few times a second from this object. */
export interface Readouts {
  model: string;
  /** What the browser's model cache holds. */
  cache: string;
  progress: string;
  generations: string;
  fps: string;
  gpuMs: string;
  dispatches: string;
  /** CPU ms of the engine's frame. */
  cpuMs: string;
  /** From the last settings change to the first preview on screen. */
  latency: string;
  /** The adapter and the kernel style the runtime picked for it. */
  adapter: string;
  message: string;
}

const READOUT_INTERVAL_MS = 200;

export class EditorPane {
  readonly readouts: Readouts = { model: '', cache: '', progress: '', generations: '', fps: '', gpuMs: '', dispatches: '', cpuMs: '', latency: '', adapter: '', message: '' };
  private readonly pane: TpFolder;
  private readonly draft: EditorSettings;
  private readonly inputs = new Map<keyof EditorSettings, TpBinding<unknown>>();
  private readonly studio: TpFolder;
  private readonly messageBox: HTMLElement;

  constructor(container: HTMLElement, private readonly current: Readonly<EditorSettings>, private readonly handlers: PaneHandlers) {
    this.draft = { ...current };
    this.messageBox = document.createElement('p');
    this.messageBox.className = 'message';
    this.messageBox.dataset.readout = 'message';
    this.messageBox.hidden = true;
    container.append(this.messageBox);
    this.pane = new Pane({ container, title: 'nextscale' }) as unknown as TpFolder;
    const p = this.pane;

    const model = p.addFolder({ title: 'model' });
    this.input(model, 'model', { label: 'url' });
    this.readout(model, 'model', 'status', { multiline: true, rows: 2 });
    this.readout(model, 'cache', 'cache');
    model.addButton({ title: 'forget cached models', label: '' }).on('click', () => handlers.forgetCache()).element.dataset.action = 'forget-cache';

    const gen = p.addFolder({ title: 'generation' });
    this.input(gen, 'prompt', { label: 'prompt' });
    this.input(gen, 'classLabel', { label: 'class', step: 1, format: whole });
    this.input(gen, 'seed', { step: 1, format: whole });
    gen.addButton({ title: 'roll the dice', label: '' }).on('click', () => handlers.rollSeed()).element.dataset.action = 'dice';
    this.input(gen, 'cfg', { label: 'guidance', step: 0.05 });
    this.input(gen, 'topK', { label: 'top-k', step: 1, format: whole });
    this.input(gen, 'topP', { label: 'top-p', step: 0.01 });
    this.input(gen, 'temperature', { step: 0.05 });
    this.readout(gen, 'progress', 'progress', { multiline: true, rows: 3 });
    this.readout(gen, 'generations', 'all');

    const frame = p.addFolder({ title: 'frame' });
    this.input(frame, 'budgetMs', { label: 'budget ms', step: 0.5 });
    this.input(frame, 'scene', { options: Object.fromEntries(SCENE_NAMES.map((n) => [n, n])) });
    this.readout(frame, 'fps', 'frame rate');
    this.readout(frame, 'gpuMs', 'GPU ms', { multiline: true, rows: 2 });
    this.readout(frame, 'dispatches', 'dispatches');
    this.readout(frame, 'cpuMs', 'CPU ms');
    this.readout(frame, 'latency', 'change → preview');
    this.readout(frame, 'adapter', 'GPU', { multiline: true, rows: 2 });

    this.studio = p.addFolder({ title: 'studio' });
    this.input(this.studio, 'mesh', { options: Object.fromEntries(STUDIO_MESHES.map((n) => [n, n])) });
    this.input(this.studio, 'tiling', { step: 1, format: whole });
    this.input(this.studio, 'maps', { label: 'material maps' });
    this.studio.addButton({ title: 'export glb' }).on('click', () => handlers.exportGlb()).element.dataset.action = 'export-glb';
    this.studio.hidden = current.scene !== 'studio';

    p.addButton({ title: 'export PNG' }).on('click', () => handlers.exportPng()).element.dataset.action = 'export';
  }

  /** Shows a message (a refusal, an error, a note) in the message box; '' clears it. */
  say(message: string): void {
    this.readouts.message = message;
    this.messageBox.textContent = message;
    this.messageBox.hidden = message === '';
  }

  /** Shows a setting's value in force (after the editor changed it, e.g. a rolled seed). */
  show<K extends keyof EditorSettings>(key: K): void {
    this.draft[key] = this.current[key];
    this.inputs.get(key)?.refresh();
  }

  /** A new folder at the end of the pane, for controls kept apart (the video's). */
  addFolder(title: string): TpFolder {
    return this.pane.addFolder({ title });
  }

  /** Shows the prompt for prompt-conditioned models and the class for class-conditional ones. */
  showConditioning(by: 'prompt' | 'class'): void {
    this.inputs.get('prompt')!.hidden = by !== 'prompt';
    this.inputs.get('classLabel')!.hidden = by !== 'class';
  }

  /** Shows the studio's controls only while the studio is the scene. */
  showStudio(visible: boolean): void {
    this.studio.hidden = !visible;
  }

  dispose(): void {
    this.pane.dispose();
    this.messageBox.remove();
  }

  private input<K extends keyof EditorSettings & string>(folder: TpFolder, key: K, params: Record<string, unknown> = {}): void {
    const binding = folder.addBinding(this.draft, key, params);
    binding.element.dataset.setting = key;
    binding.on('change', (ev) => {
      if (Object.is(ev.value, this.current[key])) return;
      const refusal = this.handlers.change(key, ev.value);
      if (refusal === undefined) return;
      this.say(refusal);
      this.show(key);
    });
    this.inputs.set(key, binding as TpBinding<unknown>);
  }

  private readout(folder: TpFolder, key: keyof Readouts, label: string, params: Record<string, unknown> = {}): void {
    const binding = folder.addBinding(this.readouts, key, { label, readonly: true, interval: READOUT_INTERVAL_MS, ...params });
    binding.element.dataset.readout = key;
  }
}

function whole(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}
