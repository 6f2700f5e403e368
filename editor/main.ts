/**
 * The editor page's start: request the GPUDevice (a browser without WebGPU gets a page that says so,
 * not a blank canvas), give the same device to the runtime and to Three's WebGPURenderer, read the
 * settings (stored, then URL parameters), start the editor, and load models dropped on the page.
 *
 * The running editor is reachable as `window.nextscale` (for the console and the end-to-end tests):
 * its settings, its frame log, the focused generation's progress and pixels.
 */
import { WebGPURenderer } from 'three/webgpu';
import { Gpu, requestDevice } from '../runtime/index.ts';
import { droppedFiles } from './drop.ts';
import { Editor } from './editor.ts';
import { startSettings } from './settings.ts';

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

async function start(): Promise<void> {
  let device: GPUDevice;
  try {
    device = await requestDevice({ onLost: (message) => showUnavailable('The GPU device was lost', message) });
  } catch (e) {
    showUnavailable('WebGPU is not available', e instanceof Error ? e.message : String(e));
    return;
  }
  const gpu = new Gpu(device);
  const renderer = new WebGPURenderer({ canvas, device, antialias: true });
  await renderer.init();
  renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
  const editor = new Editor(gpu, renderer, paneContainer, startSettings(location.search, storage()), storage());
  const fit = () => editor.resize(canvas.clientWidth, canvas.clientHeight);
  fit();
  new ResizeObserver(fit).observe(canvas);
  // A model folder or the two checkpoints dropped anywhere on the page load in place of the model.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => {
    e.preventDefault();
    if (e.dataTransfer) void droppedFiles(e.dataTransfer).then((files) => editor.loadModel(files));
  });
  window.nextscale = editor;
  editor.start();
}

start().catch((e: unknown) => showUnavailable('The editor failed to start', e instanceof Error ? e.message : String(e)));
