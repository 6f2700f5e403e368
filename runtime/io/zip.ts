/**
 * The part of ZIP that torch.save archives use: the central directory (with ZIP64 sizes and
 * offsets, for checkpoints over 4 GB) read from the end of the file, and entries read by byte range.
 * torch.save stores entries uncompressed, so a tensor's bytes are read straight from the archive;
 * a deflated entry (an archive re-zipped by hand) is inflated whole with DecompressionStream.
 */
import type { ByteSource } from './source.ts';

export interface ZipEntry {
  name: string;
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

function u64(view: DataView, at: number, what: string): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${what} is ${v}, too large`);
  return Number(v);
}

/** A zip archive's directory; entries are read lazily. */
export class ZipArchive {
  private readonly dataStarts = new Map<string, Promise<number>>();

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
        method: cv.getUint16(p + 10, true),
        compressedSize: cv.getUint32(p + 20, true),
        size: cv.getUint32(p + 24, true),
        headerOffset: cv.getUint32(p + 42, true),
      };
      readZip64Extra(cv, p + 46 + nameLength, extraLength, entry, src.name);
      if (entry.headerOffset + 30 + entry.compressedSize > src.size) {
        throw bad(`entry '${entry.name}' ([${entry.headerOffset}, +${entry.compressedSize}]) lies past the end (${src.size} bytes; truncated?)`);
      }
      entries.set(entry.name, entry);
      p += 46 + nameLength + extraLength + commentLength;
    }
    return new ZipArchive(src, entries);
  }

  /** The entry, or an error naming the archive and what it has. */
  entry(name: string): ZipEntry {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${this.source.name}: zip entry '${name}' not found (has ${this.entries.size} entries, e.g. ${[...this.entries.keys()].slice(0, 3).join(', ')})`);
    return e;
  }

  /** Reads `length` bytes at `offset` of an entry's uncompressed contents. */
  async read(entry: ZipEntry, offset = 0, length = entry.size - offset): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > entry.size) {
      throw new Error(`${this.source.name}: cannot read ${length} bytes at offset ${offset} of zip entry '${entry.name}' (${entry.size} bytes)`);
    }
    if (entry.method === 8) return (await this.inflate(entry)).subarray(offset, offset + length);
    if (entry.method !== 0) throw new Error(`${this.source.name}: zip entry '${entry.name}' uses compression method ${entry.method}, expected 0 (stored) or 8 (deflated)`);
    return this.source.read((await this.dataStart(entry)) + offset, length);
  }

  private dataStart(entry: ZipEntry): Promise<number> {
    let start = this.dataStarts.get(entry.name);
    if (!start) {
      start = this.source.read(entry.headerOffset, 30).then((h) => {
        const hv = new DataView(h.buffer, h.byteOffset, h.byteLength);
        if (hv.getUint32(0, true) !== LOCAL) throw new Error(`${this.source.name}: not a valid zip archive: no local header for '${entry.name}' at offset ${entry.headerOffset}`);
        const at = entry.headerOffset + 30 + hv.getUint16(26, true) + hv.getUint16(28, true);
        if (at + entry.compressedSize > this.source.size) throw new Error(`${this.source.name}: zip entry '${entry.name}' ends past the end of the file (truncated?)`);
        return at;
      });
      this.dataStarts.set(entry.name, start);
    }
    return start;
  }

  private async inflate(entry: ZipEntry): Promise<Uint8Array> {
    const packed = await this.source.read(await this.dataStart(entry), entry.compressedSize);
    const stream = new Blob([packed.slice()]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
    let out: Uint8Array;
    try {
      out = new Uint8Array(await new Response(stream).arrayBuffer());
    } catch (e) {
      throw new Error(`${this.source.name}: zip entry '${entry.name}' does not inflate (${(e as Error).message})`);
    }
    if (out.length !== entry.size) throw new Error(`${this.source.name}: zip entry '${entry.name}' inflates to ${out.length} bytes, expected ${entry.size}`);
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
