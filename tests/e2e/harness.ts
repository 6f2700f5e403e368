/**
 * What the end-to-end tests drive: the editor served by a Vite dev server on 127.0.0.1 (a free port,
 * the built-in tiny model included), opened in headless Chromium with WebGPU on SwiftShader, and a
 * page object that reads the editor through its pane and its `window.nextscale` handle.
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode } from 'fast-png';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build, createServer, type ViteDevServer } from 'vite';
import type { Progress } from '../../runtime/ecs/index.ts';

/**
 * Chromium's flags for WebGPU on SwiftShader, headless, with nothing reaching the network (DESIGN.md),
 * plus ANGLE on SwiftShader: without a GL compositor the WebGPU canvas never reaches the page, so
 * screenshots show the page's background (and Chromium cancels some of Three's error scopes).
 */
export const CHROMIUM_FLAGS = [
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CONFIG = fileURLToPath(new URL('../../vite.config.ts', import.meta.url));

export interface Harness {
  /** The editor's URL (ends with '/'). */
  base: string;
  browser: Browser;
  close(): Promise<void>;
}

/** Starts the dev server and the browser. */
export async function startHarness(): Promise<Harness> {
  const server: ViteDevServer = await createServer({
    configFile: CONFIG,
    logLevel: 'error',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 0, strictPort: true, hmr: false, watch: null },
  });
  await server.listen();
  const { port } = server.httpServer!.address() as AddressInfo;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
  return {
    base: `http://127.0.0.1:${port}/`,
    browser,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/** Builds the static site (`npm run build`) into `outDir`. */
export async function buildSite(outDir: string): Promise<void> {
  await build({ configFile: CONFIG, logLevel: 'error', build: { outDir, emptyOutDir: true } });
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };

/**
 * Serves `dir` under the URL folder `prefix` (e.g. '/nested/site/') with a plain static server: no
 * byte ranges, so the model arrives as one streamed download. Returns the site's URL and a closer.
 */
export async function serveStatic(dir: string, prefix: string, options: { cors?: boolean } = {}): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createHttpServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const rel = path.startsWith(prefix) ? normalize(path.slice(prefix.length) || 'index.html') : '';
    const file = join(dir, rel.endsWith('/') ? `${rel}index.html` : rel);
    // Another origin's page may read the files, and their validators, when `cors` is set.
    const cors = options.cors ? { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': 'ETag, Last-Modified, Content-Length' } : {};
    const stat = rel && !rel.startsWith('..') ? statSync(file, { throwIfNoEntry: false }) : undefined;
    if (!stat?.isFile()) {
      res.writeHead(404, cors).end();
      return;
    }
    res.writeHead(200, { ...cors, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': stat.size, ETag: `"${stat.size}-${stat.mtimeMs}"` });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections(); // the browser's kept-alive connections, so the server is gone at once
    }),
  };
}

export interface OpenOptions {
  /** CSS pixels; small, since SwiftShader renders on the CPU. Default 560 x 320 (a 260 x 320 canvas). */
  viewport?: { width: number; height: number };
  /** Hide `navigator.gpu`, as a browser without WebGPU would. */
  withoutWebGPU?: boolean;
}

/** The editor in one browser page, with every console error and uncaught exception it reported. */
export class EditorPage {
  readonly errors: string[] = [];

  private constructor(readonly page: Page, readonly context: BrowserContext) {
    page.on('console', (m) => {
      if (m.type() === 'error') this.errors.push(m.text());
    });
    page.on('pageerror', (e) => this.errors.push(`uncaught: ${e.message}`));
  }

  /** Opens `url` (by default relative to the dev server's editor) in a fresh browser context. */
  static async open(h: Harness, query = '', options: OpenOptions = {}, url = h.base + query): Promise<EditorPage> {
    const context = await h.browser.newContext({ viewport: options.viewport ?? { width: 560, height: 320 }, acceptDownloads: true });
    if (options.withoutWebGPU) await context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
    const editor = new EditorPage(await context.newPage(), context);
    await editor.page.goto(url);
    return editor;
  }

  /** Waits until the editor runs and its model has loaded (or failed: then the message says why). */
  async ready(): Promise<void> {
    await this.page.waitForFunction(() => {
      const status = window.nextscale?.pane.readouts.model ?? '';
      return status !== '' && !status.startsWith('loading');
    }, undefined, { timeout: 120_000 });
  }

  /** Waits until the focused generation is done (after having seen it not done when `restart`). */
  async generated(restart = false, timeout = 120_000): Promise<void> {
    if (restart) await this.page.waitForFunction(() => window.nextscale?.focusProgress()?.state !== 'done', undefined, { timeout, polling: 'raf' });
    const end = await this.page.waitForFunction(() => {
      const p = window.nextscale?.focusProgress();
      return (p?.state === 'done' || p?.state === 'error') && p;
    }, undefined, { timeout });
    const p = (await end.jsonValue()) as Progress;
    if (p.state === 'error') throw new Error(`generation failed: ${p.error}`);
  }

  /** Waits until the focused generation's texture holds an image (its first preview, or more). */
  async previewed(timeout = 120_000): Promise<void> {
    await this.page.waitForFunction(() => (window.nextscale?.focusProgress()?.scale ?? 0) >= 1, undefined, { timeout });
    const end = Date.now() + timeout;
    while ((await this.pixels())[3] !== 255) {
      if (Date.now() > end) throw new Error(`no image in the focused texture after ${timeout} ms`);
      await this.page.waitForTimeout(250);
    }
  }

  /** The focused generation's texture as RGBA bytes. */
  async pixels(): Promise<number[]> {
    return this.page.evaluate(async () => Array.from((await window.nextscale!.focusPixels()) ?? []));
  }

  /** Types a value into a setting's input in the pane (as a user would: fill, then Enter). */
  async set(setting: string, value: string): Promise<void> {
    const input = this.page.locator(`[data-setting="${setting}"] input`);
    await input.fill(value);
    await input.press('Enter');
  }

  /**
   * Drops files on the page, as a user dragging them from a file manager would: each file is given
   * as text, or as a URL (relative to the page) whose bytes the page fetches.
   */
  async drop(files: { name: string; text?: string; url?: string }[]): Promise<void> {
    await this.page.evaluate(async (list) => {
      const data = new DataTransfer();
      for (const f of list) {
        const body = f.url !== undefined ? await (await fetch(f.url)).blob() : new Blob([f.text ?? '']);
        data.items.add(new File([body], f.name));
      }
      document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    }, files);
  }

  /** The value shown by a setting's input. */
  async shown(setting: string): Promise<string> {
    return this.page.locator(`[data-setting="${setting}"] input`).inputValue();
  }

  /** The value shown by one of the video folder's controls (`data-video` name). */
  async videoShown(control: string): Promise<string> {
    return this.page.locator(`[data-video="${control}"] input`).inputValue();
  }

  /** The text of a read-out in the pane (as last refreshed). */
  async readout(name: string): Promise<string> {
    return this.page.evaluate((n) => (window.nextscale!.pane.readouts as unknown as Record<string, string>)[n], name);
  }

  /** Statistics of the canvas's middle (where the studio's mesh is) in a screenshot. */
  async middleStats(): Promise<PixelStats> {
    const png = decode(await this.page.locator('#view').screenshot());
    return regionStats(png.data, png.width, png.height, png.channels, 0.35);
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}

export interface PixelStats {
  /** Mean of R, G, B over the region, 0..255. */
  mean: number;
  /** Mean absolute difference between horizontally adjacent pixels: the region's fine detail. */
  detail: number;
}

/** Stats of the centred box covering `fraction` of the width and height. */
export function regionStats(data: ArrayLike<number>, width: number, height: number, channels: number, fraction: number): PixelStats {
  const x0 = Math.floor((width * (1 - fraction)) / 2);
  const y0 = Math.floor((height * (1 - fraction)) / 2);
  const x1 = width - x0;
  const y1 = height - y0;
  let sum = 0;
  let detail = 0;
  let n = 0;
  const at = (x: number, y: number, c: number) => data[(y * width + x) * channels + c];
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1 - 1; x++) {
      for (let c = 0; c < 3; c++) {
        sum += at(x, y, c);
        detail += Math.abs(at(x + 1, y, c) - at(x, y, c));
      }
      n += 3;
    }
  }
  return { mean: sum / n, detail: detail / n };
}
