/**
 * A Vite plugin that makes the built-in model part of the editor: the dev and preview servers serve
 * the model folder's files under `models/<name>/` (with byte ranges, as the model loader asks for
 * them), and `vite build` copies them into the static site at the same path, so the editor's default
 * model URL (`./models/builtin`) resolves wherever the site is served from.
 *
 * Runs in Node (imported by vite.config.ts), never in the page.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Connect, Plugin } from 'vite';

export interface ModelFilesOptions {
  /** URL folder under the site's root, e.g. 'models/var-tiny'. */
  route: string;
  /** The model folder on disk. */
  dir: string;
  /** The files of the folder that are served and built (what the loader reads). */
  files: readonly string[];
}

/**
 * Serves and builds one model folder.
 *
 * @example
 *   plugins: [modelFiles({ route: 'models/var-tiny', dir: 'tests/fixtures/var-tiny', files: ['config.json', 'weights.safetensors'] })]
 */
export function modelFiles(options: ModelFilesOptions): Plugin {
  const prefix = `/${options.route.replace(/^\/+|\/+$/g, '')}/`;
  const middleware: Connect.NextHandleFunction = (req, res, next) => {
    const path = (req.url ?? '').split('?')[0];
    const name = path.startsWith(prefix) ? decodeURIComponent(path.slice(prefix.length)) : '';
    if (!options.files.includes(name)) return next();
    const file = join(options.dir, name);
    if (!existsSync(file)) {
      res.statusCode = 404;
      res.end(`${file} does not exist (the built-in model folder is configured in vite.config.ts)`);
      return;
    }
    sendFile(req, res, file);
  };
  return {
    name: 'nextscale-model-files',
    configureServer(server) {
      server.middlewares.use(middleware);
    },
    configurePreviewServer(server) {
      server.middlewares.use(middleware);
    },
    generateBundle() {
      for (const name of options.files) {
        const file = join(options.dir, name);
        if (!existsSync(file)) {
          this.warn(`built-in model: ${file} not found; the site will not include it`);
          continue;
        }
        this.emitFile({ type: 'asset', fileName: `${prefix.slice(1)}${name}`, source: readFileSync(file) });
      }
    },
  };
}

/** Sends a file whole, or the single byte range a `Range: bytes=a-b` header asks for. */
function sendFile(req: IncomingMessage, res: ServerResponse, file: string): void {
  const { size, mtime } = statSync(file);
  res.setHeader('Accept-Ranges', 'bytes');
  // Validators: the editor's model cache keeps a file until they change.
  res.setHeader('ETag', `"${size.toString(16)}-${mtime.getTime().toString(16)}"`);
  res.setHeader('Last-Modified', mtime.toUTCString());
  res.setHeader('Content-Type', file.endsWith('.json') ? 'application/json' : 'application/octet-stream');
  res.setHeader('Cache-Control', 'no-cache');
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  let start = 0;
  let end = size - 1;
  if (range) {
    if (range[1] === '') start = Math.max(0, size - Number(range[2]));
    else {
      start = Number(range[1]);
      if (range[2] !== '') end = Math.min(end, Number(range[2]));
    }
    if (start > end || start >= size) {
      res.statusCode = 416;
      res.setHeader('Content-Range', `bytes */${size}`);
      res.end();
      return;
    }
    res.statusCode = 206;
    res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
  }
  res.setHeader('Content-Length', String(end - start + 1));
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  createReadStream(file, { start, end }).pipe(res);
}
