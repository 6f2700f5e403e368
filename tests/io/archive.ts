/**
 * Test helpers that build .pth files by hand: a stored (uncompressed) zip writer, and a pickle of a
 * one-tensor state dict assembled opcode by opcode, so a test can break exactly one thing.
 */

import { crc32 } from '../../runtime/io/zip.ts';

const ascii = (s: string) => Array.from(new TextEncoder().encode(s));
const le = (v: number, bytes: number) => Array.from({ length: bytes }, (_, i) => (v >>> (8 * i)) & 0xff);

/** One entry of `storedZip`: stored, or `deflated` (raw deflate of `data`); `crc` and `size` override what is declared. */
export interface HandEntry {
  name: string;
  data: Uint8Array;
  crc?: number;
  deflated?: Uint8Array;
  size?: number;
}

/** A zip archive of the entries, with their CRC-32s. */
export function storedZip(entries: HandEntry[]): Uint8Array {
  const parts: number[][] = [];
  const central: number[][] = [];
  let offset = 0;
  for (const { name, data, crc, deflated, size } of entries) {
    const n = ascii(name);
    const body = deflated ?? data;
    const method = deflated ? 8 : 0;
    const sizes = [...le(crc ?? crc32(data), 4), ...le(body.length, 4), ...le(size ?? data.length, 4)];
    const local = [...le(0x04034b50, 4), 20, 0, 0, 0, method, 0, 0, 0, 0, 0, ...sizes, ...le(n.length, 2), 0, 0, ...n];
    central.push([...le(0x02014b50, 4), 20, 0, 20, 0, 0, 0, method, 0, 0, 0, 0, 0, ...sizes, ...le(n.length, 2), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...le(offset, 4), ...n]);
    parts.push(local, Array.from(body));
    offset += local.length + body.length;
  }
  const cd = central.flat();
  const end = [...le(0x06054b50, 4), 0, 0, 0, 0, ...le(entries.length, 2), ...le(entries.length, 2), ...le(cd.length, 4), ...le(offset, 4), 0, 0];
  return Uint8Array.from([...parts.flat(), ...cd, ...end]);
}

export interface HandTensor {
  name?: string;
  storageType?: string;
  key?: string;
  numel: number;
  offset?: number;
  size: number[];
  stride: number[];
  /** The global that rebuilds the tensor (default torch._utils._rebuild_tensor_v2). */
  rebuild?: [string, string];
}

export const op = {
  str: (s: string) => [0x58, ...le(ascii(s).length, 4), ...ascii(s)],
  int: (v: number) => [0x4a, ...le(v, 4)],
  global: (module: string, name: string) => [0x63, ...ascii(`${module}\n${name}\n`)],
  tuple: (items: number[][]) => [0x28, ...items.flat(), 0x74],
};

/** The opcodes of `{name: tensor}` as torch.save writes them (protocol 2, without memo opcodes). */
export function tensorPickle(t: HandTensor): number[] {
  const [module, fn] = t.rebuild ?? ['torch._utils', '_rebuild_tensor_v2'];
  const pid = op.tuple([op.str('storage'), op.global('torch', t.storageType ?? 'FloatStorage'), op.str(t.key ?? '0'), op.str('cpu'), op.int(t.numel)]);
  const args = op.tuple([pid, [0x51], op.int(t.offset ?? 0), op.tuple(t.size.map(op.int)), op.tuple(t.stride.map(op.int)), [0x89], op.global('collections', 'OrderedDict'), [0x29, 0x52]]);
  return [0x80, 2, 0x7d, 0x28, ...op.str(t.name ?? 'w'), ...op.global(module, fn), ...args, 0x52, 0x75, 0x2e];
}

/** A .pth archive ('archive/' prefix) of a pickle and storages. */
export function handPth(pickle: number[], storages: Record<string, Uint8Array>): Uint8Array {
  return storedZip([
    { name: 'archive/data.pkl', data: Uint8Array.from(pickle) },
    ...Object.entries(storages).map(([key, data]) => ({ name: `archive/data/${key}`, data })),
    { name: 'archive/version', data: Uint8Array.from(ascii('3\n')) },
  ]);
}

/** The entries (name and stored contents) of a zip of stored entries, read from its central directory. */
export function handPthEntries(zip: Uint8Array): HandEntry[] {
  const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let eocd = zip.length - 22;
  while (eocd > 0 && dv.getUint32(eocd, true) !== 0x06054b50) eocd--;
  const count = dv.getUint16(eocd + 10, true);
  let p = dv.getUint32(eocd + 16, true);
  const out: HandEntry[] = [];
  for (let i = 0; i < count; i++) {
    const nameLength = dv.getUint16(p + 28, true);
    const name = new TextDecoder().decode(zip.subarray(p + 46, p + 46 + nameLength));
    const size = dv.getUint32(p + 20, true);
    const local = dv.getUint32(p + 42, true);
    const start = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
    out.push({ name, data: zip.slice(start, start + size) });
    p += 46 + nameLength + dv.getUint16(p + 30, true) + dv.getUint16(p + 32, true);
  }
  return out;
}
