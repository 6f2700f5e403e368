/**
 * The part of ZIP that torch.save archives use: the central directory (with ZIP64 sizes and
 * offsets, for checkpoints over 4 GB) read from the end of the file, and entries read by byte range.
 * torch.save stores entries uncompressed, so a tensor's bytes are read straight from the archive;
 * a deflated entry (an archive re-zipped by hand) is inflated once, streamed, and stopped at its
 * declared size.
 *
 * The archive is checked as it is read: names are unique, entries' byte ranges do not overlap each
 * other or the directory, each local header names its entry, and an entry's CRC-32 is compared the
 * first time it is read (read whole for that if the first read is a part of it).
 */
import type { ByteSource } from './source.ts';

export interface ZipEntry {
  name: string;
  /** CRC-32 of the uncompressed contents. */
  crc: number;
  /** 0 = stored, 8 = deflated. */
  method: number;
  compressedSize: number;
  size: number;
  /** Offset of the entry's local header. */
  headerOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
/** Deflate expands a byte to at most about 1032 (its longest match, 258 bytes, from a 2-bit code). */
const MAX_DEFLATE_RATIO = 1032;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The CRC-32 (IEEE, as zip uses it) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const hex = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;

function u64(view: DataView, at: number, what: string): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${what} is ${v}, too large`);
  return Number(v);
}

/** A zip archive's directory; entries are read lazily. */
export class ZipArchive {
  private readonly dataStarts = new Map<string, Promise<number>>();
  private readonly inflatedEntries = new Map<string, Promise<Uint8Array>>();
  private readonly verified = new Set<string>();

  private constructor(
    readonly source: ByteSource,
    readonly entries: Map<string, ZipEntry>,
  ) {}

  /** Reads the central directory; throws naming the file when it is not a (complete) zip archive. */
  static async open(src: ByteSource): Promise<ZipArchive> {
    const bad = (what: string) => new Error(`${src.name}: not a valid zip archive: ${what}`);
    const tailLength = Math.min(src.size, 22 + 0xffff);
    const tail = await src.read(src.size - tailLength, tailLength);
    const tv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tv.getUint32(i, true) === EOCD && i + 22 + tv.getUint16(i + 20, true) <= tail.length) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw bad(`no end-of-central-directory record in its last ${tailLength} bytes (truncated, or not a zip?)`);
    let count = tv.getUint16(eocd + 10, true);
    let cdSize = tv.getUint32(eocd + 12, true);
    let cdOffset = tv.getUint32(eocd + 16, true);
    const at = eocd - 20;
    const hasLocator = at >= 0 && tv.getUint32(at, true) === ZIP64_LOCATOR;
    if (!hasLocator && (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff)) {
      throw bad('ZIP64 sizes without a ZIP64 end-of-central-directory locator');
    }
    if (hasLocator) {
      const recordOffset = u64(tv, at + 8, `${src.name}: ZIP64 record offset`);
      if (recordOffset + 56 > src.size) throw bad(`ZIP64 end-of-central-directory record at ${recordOffset} lies past the end (${src.size} bytes)`);
      const rec = await src.read(recordOffset, 56);
      const rv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
      if (rv.getUint32(0, true) !== ZIP64_EOCD) throw bad(`no ZIP64 end-of-central-directory record at ${recordOffset}`);
      count = u64(rv, 32, `${src.name}: entry count`);
      cdSize = u64(rv, 40, `${src.name}: central directory size`);
      cdOffset = u64(rv, 48, `${src.name}: central directory offset`);
    }
    if (cdOffset + cdSize > src.size) throw bad(`central directory [${cdOffset}, ${cdOffset + cdSize}) lies past the end (${src.size} bytes)`);
    const cd = await src.read(cdOffset, cdSize);
    const cv = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
    const utf8 = new TextDecoder();
    const entries = new Map<string, ZipEntry>();
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cv.getUint32(p, true) !== CENTRAL) throw bad(`central directory entry ${i} of ${count} is missing or corrupt at offset ${cdOffset + p}`);
      const nameLength = cv.getUint16(p + 28, true);
      const extraLength = cv.getUint16(p + 30, true);
      const commentLength = cv.getUint16(p + 32, true);
      if (p + 46 + nameLength + extraLength + commentLength > cd.length) throw bad(`central directory entry ${i} runs past the directory`);
      const entry: ZipEntry = {
        name: utf8.decode(cd.subarray(p + 46, p + 46 + nameLength)),
        crc: cv.getUint32(p + 16, true),
        method: cv.getUint16(p + 10, true),
        compressedSize: cv.getUint32(p + 20, true),
        size: cv.getUint32(p + 24, true),
        headerOffset: cv.getUint32(p + 42, true),
      };
      readZip64Extra(cv, p + 46 + nameLength, extraLength, entry, src.name);
      if (entry.headerOffset + 30 + entry.compressedSize > src.size) {
        throw bad(`entry '${entry.name}' ([${entry.headerOffset}, +${entry.compressedSize}]) lies past the end (${src.size} bytes; truncated?)`);
      }
      if (entries.has(entry.name)) throw bad(`entry '${entry.name}' appears twice in the central directory`);
      if (entry.method === 8 && entry.size > MAX_DEFLATE_RATIO * Math.max(entry.compressedSize, 1)) {
        throw bad(`entry '${entry.name}' declares ${entry.size} bytes from ${entry.compressedSize} deflated, more than deflate can expand (${MAX_DEFLATE_RATIO}x)`);
      }
      entries.set(entry.name, entry);
      p += 46 + nameLength + extraLength + commentLength;
    }
    // Each entry's local header and data lie before the next entry's, and all before the directory.
    const spans = [...entries.values()].sort((a, b) => a.headerOffset - b.headerOffset);
    for (const [i, e] of spans.entries()) {
      const end = e.headerOffset + 30 + e.compressedSize;
      const next = i + 1 < spans.length ? spans[i + 1] : undefined;
      if (end > (next?.headerOffset ?? cdOffset)) {
        throw bad(`entry '${e.name}' at ${e.headerOffset} (+${e.compressedSize} bytes) overlaps ${next ? `entry '${next.name}' at ${next.headerOffset}` : `the central directory at ${cdOffset}`}`);
      }
    }
    return new ZipArchive(src, entries);
  }

  /** The entry, or an error naming the archive and what it has. */
  entry(name: string): ZipEntry {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${this.source.name}: zip entry '${name}' not found (has ${this.entries.size} entries, e.g. ${[...this.entries.keys()].slice(0, 3).join(', ')})`);
    return e;
  }

  /** Reads `length` bytes at `offset` of an entry's uncompressed contents (its CRC-32 checked on first read). */
  async read(entry: ZipEntry, offset = 0, length = entry.size - offset): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > entry.size) {
      throw new Error(`${this.source.name}: cannot read ${length} bytes at offset ${offset} of zip entry '${entry.name}' (${entry.size} bytes)`);
    }
    if (entry.method !== 0 && entry.method !== 8) {
      throw new Error(`${this.source.name}: zip entry '${entry.name}' uses compression method ${entry.method}, expected 0 (stored) or 8 (deflated)`);
    }
    if (entry.method === 8) return (await this.inflated(entry)).subarray(offset, offset + length);
    const start = await this.dataStart(entry);
    if (!this.verified.has(entry.name)) {
      const whole = offset === 0 && length === entry.size;
      const bytes = await this.source.read(start, entry.size);
      this.check(entry, bytes);
      if (whole) return bytes;
    }
    return this.source.read(start + offset, length);
  }

  /** Compares an entry's contents with the CRC-32 the directory gives for it. */
  private check(entry: ZipEntry, bytes: Uint8Array): void {
    const crc = crc32(bytes);
    if (crc !== entry.crc) {
      throw new Error(`${this.source.name}: zip entry '${entry.name}' is corrupt: its CRC-32 is ${hex(crc)}, the archive says ${hex(entry.crc)}`);
    }
    this.verified.add(entry.name);
  }

  private dataStart(entry: ZipEntry): Promise<number> {
    let start = this.dataStarts.get(entry.name);
    if (!start) {
      const name = new TextEncoder().encode(entry.name);
      const headerBytes = Math.min(30 + name.length, this.source.size - entry.headerOffset);
      start = this.source.read(entry.headerOffset, headerBytes).then((h) => {
        const hv = new DataView(h.buffer, h.byteOffset, h.byteLength);
        if (h.length < 30 || hv.getUint32(0, true) !== LOCAL) throw new Error(`${this.source.name}: not a valid zip archive: no local header for '${entry.name}' at offset ${entry.headerOffset}`);
        const nameLength = hv.getUint16(26, true);
        const local = h.subarray(30, 30 + nameLength);
        if (nameLength !== name.length || local.some((b, i) => b !== name[i])) {
          throw new Error(`${this.source.name}: not a valid zip archive: the local header at ${entry.headerOffset} names '${new TextDecoder().decode(local)}', the directory '${entry.name}'`);
        }
        const at = entry.headerOffset + 30 + nameLength + hv.getUint16(28, true);
        if (at + entry.compressedSize > this.source.size) throw new Error(`${this.source.name}: zip entry '${entry.name}' ends past the end of the file (truncated?)`);
        return at;
      });
      this.dataStarts.set(entry.name, start);
    }
    return start;
  }

  /** An entry's inflated contents: inflated once, streamed, stopped as soon as it passes its declared size. */
  private inflated(entry: ZipEntry): Promise<Uint8Array> {
    let out = this.inflatedEntries.get(entry.name);
    if (!out) {
      out = this.inflate(entry);
      this.inflatedEntries.set(entry.name, out);
    }
    return out;
  }

  private async inflate(entry: ZipEntry): Promise<Uint8Array> {
    const packed = await this.source.read(await this.dataStart(entry), entry.compressedSize);
    const reader = new Blob([packed.slice()]).stream().pipeThrough(new DecompressionStream('deflate-raw')).getReader();
    const out = new Uint8Array(entry.size);
    let filled = 0;
    const wrong = (what: string) => new Error(`${this.source.name}: zip entry '${entry.name}' ${what}`);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (filled + value.byteLength > entry.size) throw wrong(`inflates past its declared ${entry.size} bytes`);
        out.set(value, filled);
        filled += value.byteLength;
      }
    } catch (e) {
      await reader.cancel().catch(() => undefined);
      if ((e as Error).message.startsWith(this.source.name)) throw e;
      throw wrong(`does not inflate (${(e as Error).message})`);
    }
    if (filled !== entry.size) throw wrong(`inflates to ${filled} bytes, expected ${entry.size}`);
    this.check(entry, out);
    return out;
  }
}

/** Replaces the 0xFFFFFFFF fields of a central directory entry by its ZIP64 extra field's values. */
function readZip64Extra(view: DataView, start: number, length: number, entry: ZipEntry, file: string): void {
  for (let p = start; p + 4 <= start + length; ) {
    const id = view.getUint16(p, true);
    const size = view.getUint16(p + 2, true);
    if (id === 0x0001) {
      let q = p + 4;
      const next = (what: string): number => {
        if (q + 8 > p + 4 + size) throw new Error(`${file}: not a valid zip archive: entry '${entry.name}' has a ZIP64 extra field without its ${what}`);
        const v = u64(view, q, `${file}: zip entry '${entry.name}' ${what}`);
        q += 8;
        return v;
      };
      if (entry.size === 0xffffffff) entry.size = next('size');
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = next('compressed size');
      if (entry.headerOffset === 0xffffffff) entry.headerOffset = next('header offset');
      return;
    }
    p += 4 + size;
  }
}
