/**
 * Model folders kept in the browser's Cache Storage, so that a second visit opens a model without its
 * download, and offline. Each file is kept under its absolute URL with the validators its server sent
 * (ETag, Last-Modified, Content-Length). On a later load every cached file is checked with a HEAD request
 * (no body): a file whose validators changed is fetched again, and a server out of reach means the kept
 * copy is used. A file the storage quota cannot hold is still loaded, just not kept.
 */
import type { ProgressFn } from '../runtime/index.ts';

const CACHE_NAME = 'nextscale-models';
const VALIDATORS = ['etag', 'last-modified', 'content-length'] as const;

/** What the cache holds: bytes and files (read from the stored Content-Length headers). */
export interface CacheUsage {
  bytes: number;
  files: number;
}

/** A model folder's files as the loader reads them, and what happened on the way. */
export interface FolderFiles {
  files: File[];
  /** Files served from the cache without a download. */
  cached: number;
  /** Why a file could not be kept (a short quota), if any. */
  warnings: string[];
}

async function openCache(): Promise<Cache | undefined> {
  if (typeof caches === 'undefined') return undefined; // not a secure context, or a browser without it
  try {
    return await caches.open(CACHE_NAME);
  } catch {
    return undefined;
  }
}

/** Whether `kept` (a cached response) is the version `head` (the server's answer now) describes. */
function sameVersion(kept: Response, head: Response): boolean {
  const now = VALIDATORS.map((v) => head.headers.get(v));
  if (now[0] === null && now[1] === null) return false; // nothing to compare a changed file by
  return VALIDATORS.every((v, i) => now[i] === null || kept.headers.get(v) === now[i]);
}

/** The body of `response` as a Blob, reporting bytes as they arrive. */
async function readBody(response: Response, url: string, onProgress?: ProgressFn): Promise<Blob> {
  const total = Number(response.headers.get('content-length') ?? 0) || 0;
  if (!response.body || !onProgress) return response.blob();
  const reader = response.body.getReader();
  const parts: Uint8Array<ArrayBuffer>[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read().catch((e: Error) => {
      throw new Error(`${url}: download broke off after ${loaded} bytes (${e.message})`);
    });
    if (done) break;
    parts.push(value as Uint8Array<ArrayBuffer>);
    loaded += value.byteLength;
    onProgress(loaded, total);
  }
  if (total && loaded !== total) throw new Error(`${url}: expected ${total} bytes, received ${loaded}`);
  return new Blob(parts);
}

/**
 * The files `names` of the folder at `base` (an absolute URL ending in '/'), from the cache where it
 * still holds the server's version (or the server is out of reach), else downloaded and kept.
 */
export async function folderFiles(base: string, names: readonly string[], onProgress?: ProgressFn): Promise<FolderFiles> {
  const cache = await openCache();
  const out: FolderFiles = { files: [], cached: 0, warnings: [] };
  for (const name of names) {
    const url = new URL(name, base).href;
    const kept = await cache?.match(url);
    if (kept) {
      const head = await fetch(url, { method: 'HEAD', cache: 'no-store' }).catch(() => undefined);
      if (!head || sameVersion(kept, head)) {
        out.files.push(new File([await kept.blob()], name));
        out.cached++;
        continue;
      }
    }
    let response: Response;
    try {
      response = await fetch(url, { cache: 'no-store' });
    } catch (e) {
      throw new Error(`${url}: request failed (${(e as Error).message})`);
    }
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`.trim());
    const blob = await readBody(response, url, onProgress);
    out.files.push(new File([blob], name));
    if (!cache) continue;
    const headers = new Headers({ 'content-length': String(blob.size) });
    for (const v of ['etag', 'last-modified'] as const) {
      const value = response.headers.get(v);
      if (value !== null) headers.set(v, value);
    }
    try {
      await cache.put(url, new Response(blob, { headers }));
    } catch (e) {
      const estimate = await navigator.storage?.estimate?.().catch(() => undefined);
      const free = estimate?.quota !== undefined && estimate.usage !== undefined ? `, ${((estimate.quota - estimate.usage) / 1e6).toFixed(1)} MB free` : '';
      out.warnings.push(`${name} (${(blob.size / 1e6).toFixed(1)} MB) is not kept for the next visit: the browser's storage refused it (${(e as Error).name}${free})`);
    }
  }
  return out;
}

/** What the cache holds now (0 files where the browser has no Cache Storage). */
export async function cacheUsage(): Promise<CacheUsage> {
  const cache = await openCache();
  const usage: CacheUsage = { bytes: 0, files: 0 };
  if (!cache) return usage;
  for (const request of await cache.keys()) {
    const kept = await cache.match(request);
    usage.files++;
    usage.bytes += Number(kept?.headers.get('content-length') ?? 0) || 0;
  }
  return usage;
}

/** Empties the cache: every model downloads again on its next load. */
export async function forgetCachedModels(): Promise<void> {
  if (typeof caches !== 'undefined') await caches.delete(CACHE_NAME);
}

/** '9.6 MB in 3 files', or 'empty'. */
export function describeUsage(u: CacheUsage): string {
  return u.files === 0 ? 'empty' : `${(u.bytes / 1e6).toFixed(1)} MB in ${u.files} file${u.files === 1 ? '' : 's'}`;
}
