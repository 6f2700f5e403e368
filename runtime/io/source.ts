/**
 * Byte sources: random-access reads from a file, a Blob, memory or a URL, so the tensor readers can
 * parse a header and then fetch one tensor at a time. Checkpoints can be 10 GB: a Node file is read
 * through short-lived file handles, a URL through HTTP Range requests, and only a server that ignores
 * ranges costs one streamed download held in memory (as chunks, never one giant buffer).
 *
 * Node modules are imported dynamically, by a specifier bundlers leave alone, so this module also
 * bundles for the browser.
 */

/** Progress of a download: bytes loaded so far, and bytes in all (0 when the server does not say). */
export type ProgressFn = (loaded: number, total: number) => void;

/** A read-only, random-access sequence of bytes. */
export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** A path, URL or label for error messages. */
  readonly name: string;
  /** Exactly `length` bytes starting at `offset`; throws when the range is outside the source. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface SourceOptions {
  /** Called as bytes arrive from a URL (ranges or the whole download). */
  onProgress?: ProgressFn;
  /** The fetch to use for URLs (default: globalThis.fetch). */
  fetch?: typeof fetch;
}

function checkRange(src: ByteSource, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > src.size) {
    throw new Error(`${src.name}: cannot read ${length} bytes at offset ${offset}: the source has ${src.size} bytes`);
  }
}

/** Bytes already in memory (reads return views, not copies). */
export function memorySource(bytes: Uint8Array, name = 'memory'): ByteSource {
  const src: ByteSource = {
    size: bytes.length,
    name,
    async read(offset, length) {
      checkRange(src, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
  return src;
}

/** A browser `File` or any `Blob` (read by slices). */
export function blobSource(blob: Blob, name = (blob as Partial<File>).name ?? 'blob'): ByteSource {
  const src: ByteSource = {
    size: blob.size,
    name,
    async read(offset, length) {
      checkRange(src, offset, length);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
  return src;
}

type NodeFs = typeof import('node:fs/promises');

/** Node reads at most 2 GiB per call; larger tensors are read in pieces. */
const MAX_READ = 1 << 30;

/** Imports a Node built-in by a computed specifier so browser bundles neither resolve nor stub it. */
function importNode<T>(specifier: string): Promise<T> {
  return import(/* @vite-ignore */ specifier) as Promise<T>;
}

/**
 * A file on disk (Node only). Each read opens, reads and closes the file, so an abandoned source
 * holds no descriptor.
 */
export async function fileSource(path: string): Promise<ByteSource> {
  const fs = await importNode<NodeFs>('node:fs/promises');
  let size: number;
  try {
    const stat = await fs.stat(path);
    if (!stat.isFile()) throw new Error('not a regular file');
    size = stat.size;
  } catch (e) {
    throw new Error(`${path}: cannot open (${(e as Error).message})`);
  }
  const src: ByteSource = {
    size,
    name: path,
    async read(offset, length) {
      checkRange(src, offset, length);
      const out = new Uint8Array(length);
      const fh = await fs.open(path, 'r');
      try {
        let done = 0;
        while (done < length) {
          const { bytesRead } = await fh.read(out, done, Math.min(length - done, MAX_READ), offset + done);
          if (bytesRead === 0) throw new Error(`${path}: file ended at ${offset + done} bytes, expected ${size} (did it change?)`);
          done += bytesRead;
        }
      } finally {
        await fh.close();
      }
      return out;
    },
  };
  return src;
}

/** Reads a response body to the end, reporting progress; returns its chunks. */
async function readBody(res: Response, onChunk: (bytes: number) => void): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  if (!res.body) {
    const all = new Uint8Array(await res.arrayBuffer());
    onChunk(all.length);
    return [all];
  }
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return chunks;
    chunks.push(value);
    onChunk(value.length);
  }
}

/** Bytes held as the chunks of a download, read across chunk boundaries. */
function chunkedSource(chunks: Uint8Array[], name: string): ByteSource {
  const starts: number[] = [];
  let size = 0;
  for (const c of chunks) {
    starts.push(size);
    size += c.length;
  }
  const src: ByteSource = {
    size,
    name,
    async read(offset, length) {
      checkRange(src, offset, length);
      let lo = 0;
      let hi = chunks.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid] <= offset) lo = mid;
        else hi = mid - 1;
      }
      const first = chunks[lo];
      const at = offset - starts[lo];
      if (length === 0 || at + length <= first.length) return first.subarray(at, at + length);
      const out = new Uint8Array(length);
      let done = 0;
      for (let i = lo; done < length; i++) {
        const part = chunks[i].subarray(i === lo ? at : 0, (i === lo ? at : 0) + length - done);
        out.set(part, done);
        done += part.length;
      }
      return out;
    },
  };
  return src;
}

function httpError(url: string, res: Response, what: string): Error {
  return new Error(`${url}: ${what} failed: HTTP ${res.status} ${res.statusText}`.trimEnd());
}

/**
 * A URL. A first request for byte 0 finds out whether the server honours ranges: if it answers 206,
 * every read is one Range request (progress counts the bytes fetched); if it answers 200 with the
 * whole file, that one response is streamed into memory with progress and reads are served from it.
 */
export async function urlSource(url: string, opts: SourceOptions = {}): Promise<ByteSource> {
  const fetchFn = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const onProgress = opts.onProgress;
  const request = async (init?: RequestInit): Promise<Response> => {
    try {
      return await fetchFn(url, init);
    } catch (e) {
      throw new Error(`${url}: request failed (${(e as Error).message})`);
    }
  };
  const probe = await request({ headers: { Range: 'bytes=0-0' } });
  if (!probe.ok) throw httpError(url, probe, 'download');

  let size = -1;
  if (probe.status === 206) {
    await probe.arrayBuffer();
    const total = /\/(\d+)\s*$/.exec(probe.headers.get('Content-Range') ?? '');
    if (total) size = Number(total[1]);
    else {
      // Content-Range is hidden from cross-origin pages unless exposed; Content-Length of a HEAD is not.
      const head = await request({ method: 'HEAD' });
      const length = head.ok ? head.headers.get('Content-Length') : null;
      if (length !== null) size = Number(length);
    }
  }
  if (size < 0) {
    // A 206 probe was read above; any other success already is the whole file.
    const whole = probe.status === 206 ? await request() : probe;
    if (!whole.ok) throw httpError(url, whole, 'download');
    const total = Number(whole.headers.get('Content-Length') ?? 0) || 0;
    let loaded = 0;
    onProgress?.(0, total);
    const chunks = await readBody(whole, (n) => {
      loaded += n;
      onProgress?.(loaded, Math.max(total, loaded));
    });
    return chunkedSource(chunks, url);
  }

  let fetched = 0;
  const src: ByteSource = {
    size,
    name: url,
    async read(offset, length) {
      checkRange(src, offset, length);
      if (length === 0) return new Uint8Array(0);
      const res = await request({ headers: { Range: `bytes=${offset}-${offset + length - 1}` } });
      if (res.status !== 206) {
        await res.body?.cancel();
        throw httpError(url, res, `range request for bytes ${offset}-${offset + length - 1}`);
      }
      const chunks = await readBody(res, (n) => {
        fetched += n;
        onProgress?.(Math.min(fetched, size), size);
      });
      const got = chunkedSource(chunks, url);
      if (got.size !== length) throw new Error(`${url}: asked for ${length} bytes at offset ${offset}, the server sent ${got.size}`);
      return got.read(0, length);
    },
  };
  return src;
}

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/**
 * Opens what a caller names: a Blob/File, bytes, an http(s) URL, or (in Node) a path or file: URL.
 * In a browser every string is a URL, resolved against the page.
 */
export async function openSource(target: string | URL | Blob | Uint8Array, opts: SourceOptions = {}): Promise<ByteSource> {
  if (target instanceof Uint8Array) return memorySource(target);
  if (typeof Blob !== 'undefined' && target instanceof Blob) return blobSource(target);
  const text = String(target);
  if (/^https?:\/\//i.test(text) || !isNode()) {
    const base = typeof location !== 'undefined' ? location.href : undefined;
    return urlSource(new URL(text, base).href, opts);
  }
  if (/^file:/i.test(text)) {
    const { fileURLToPath } = await importNode<typeof import('node:url')>('node:url');
    return fileSource(fileURLToPath(text));
  }
  return fileSource(text);
}
