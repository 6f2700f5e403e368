/**
 * The editor page's start: request the GPUDevice (a browser without WebGPU gets a page that says so,
 * not a blank canvas), give the same device to the runtime and to Three's WebGPURenderer, read the
 * settings (stored, then URL parameters), start the editor, and load models dropped on the page. A lost
 * device is replaced by a new one and the editor started again on it, without a page reload.
 *
 * The running editor is reachable as `window.nextscale` (for the console and the end-to-end tests):
 * its settings, its frame log, the focused generation's progress and pixels.
 */
import { WebGPURenderer } from 'three/webgpu';
import { Gpu, requestDevice } from '../runtime/index.ts';
import { droppedFiles } from './drop.ts';
import { Editor } from './editor.ts';
import { startSettings, type StartSettings } from './settings.ts';

declare global {
  interface Window {
    nextscale?: Editor;
  }
}

const canvas = document.querySelector<HTMLCanvasElement>('#view')!;
const paneContainer = document.querySelector<HTMLElement>('#pane')!;

/** Replaces the editor with a page that explains why it cannot run. */
function showUnavailable(title: string, reason: string): void {
  canvas.hidden = true;
  paneContainer.hidden = true;
  const page = document.querySelector<HTMLElement>('#unavailable')!;
  page.querySelector('h1')!.textContent = title;
  page.querySelector('.reason')!.textContent = reason;
  page.hidden = false;
}

function storage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

/** The running editor and what was made for it (all replaced when the GPU device is lost). */
let current: { editor: Editor; renderer: WebGPURenderer; observer: ResizeObserver } | undefined;

/**
 * Requests a device and starts an editor on it with `start`'s settings (a restart after a lost device
 * passes the running editor's settings and its dropped model files, if any, and a note for the pane).
 */
async function boot(start: StartSettings, restart?: { note: string; model?: readonly File[] }): Promise<void> {
  let device: GPUDevice;
  try {
    device = await requestDevice();
  } catch (e) {
    showUnavailable('WebGPU is not available', e instanceof Error ? e.message : String(e));
    return;
  }
  const gpu = new Gpu(device);
  const renderer = new WebGPURenderer({ canvas, device, antialias: true });
  await renderer.init();
  renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
  const editor = new Editor(gpu, renderer, paneContainer, start, storage());
  const fit = () => editor.resize(canvas.clientWidth, canvas.clientHeight);
  fit();
  const observer = new ResizeObserver(fit);
  observer.observe(canvas);
  current = { editor, renderer, observer };
  window.nextscale = editor;
  // Whatever ends the device (a driver reset, a GPU process crash, a destroy() from elsewhere), the
  // editor comes back on a new one: the model reloads (from the browser's cache when it came by URL)
  // and the scene's generations start again.
  void device.lost.then((info) => {
    if (current?.editor === editor) void recover(info.message || info.reason || 'unknown reason');
  });
  editor.start(restart?.model);
  if (restart) editor.pane.say(restart.note);
}

async function recover(reason: string): Promise<void> {
  const old = current!;
  current = undefined;
  const settings = { ...old.editor.settings };
  const model = old.editor.droppedModel;
  old.observer.disconnect();
  old.editor.dispose();
  old.renderer.dispose();
  await boot({ settings, messages: [] }, { note: `The GPU device was lost (${reason}); the editor runs on a new one, its model reloaded and its generations restarted.`, model });
}

async function start(): Promise<void> {
  await boot(startSettings(location.search, storage()));
  // A model folder or the two checkpoints dropped anywhere on the page load in place of the model.
  // A click on a gallery panel makes its variation the studio's texture.
  canvas.addEventListener('click', (e) => {
    const box = canvas.getBoundingClientRect();
    current?.editor.click(((e.clientX - box.left) / box.width) * 2 - 1, 1 - ((e.clientY - box.top) / box.height) * 2);
  });
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => {
    e.preventDefault();
    if (e.dataTransfer) void droppedFiles(e.dataTransfer).then((files) => current?.editor.loadModel(files));
  });
}

start().catch((e: unknown) => showUnavailable('The editor failed to start', e instanceof Error ? e.message : String(e)));
