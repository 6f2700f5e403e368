/**
 * The .npy format's header, version 1.0, written and read by hand: the magic "\x93NUMPY", the version
 * bytes 1 0, a little-endian u16 header length, then a Python dict literal padded with spaces and a
 * newline so that the data starts on a multiple of 64 bytes. Only C-order arrays are written; the
 * reader is small and exists to check what the writer wrote.
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * The header of a C-order array, e.g. npyHeader([20000, 64, 64, 3]) for uint8 images; its length is
 * a multiple of 64, and the raw data follows it directly.
 */
export function npyHeader(shape: readonly number[], descr = '|u1'): Uint8Array {
  for (const d of shape) if (!Number.isInteger(d) || d < 0) throw new Error(`npy header: shape entries must be integers >= 0; found [${shape.join(', ')}]`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + dict.length + 1;
  const total = Math.ceil(unpadded / 64) * 64;
  const text = dict + ' '.repeat(total - unpadded) + '\n';
  if (text.length > 0xffff) throw new Error(`npy header: ${text.length} bytes do not fit version 1.0's u16 length`);
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = text.length & 0xff;
  out[9] = text.length >> 8;
  for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i);
  return out;
}

/** What a .npy header says. */
export interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the data. */
  dataOffset: number;
}

/** Parses the header of .npy bytes (version 1.0 or 2.0); throws on anything else. */
export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) throw new Error('npy: missing the \\x93NUMPY magic');
  const major = bytes[6];
  if (major !== 1 && major !== 2) throw new Error(`npy: expected version 1.0 or 2.0; found ${major}.${bytes[7]}`);
  const lenBytes = major === 1 ? 2 : 4;
  let len = 0;
  for (let i = lenBytes - 1; i >= 0; i--) len = len * 256 + bytes[8 + i];
  const start = 8 + lenBytes;
  if (bytes.length < start + len) throw new Error(`npy: header says ${len} bytes; the file has ${bytes.length - start}`);
  const text = String.fromCharCode(...bytes.subarray(start, start + len));
  const descr = /'descr':\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order':\s*(True|False)/.exec(text);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new Error(`npy: header dict lacks descr, fortran_order or shape: ${text.trim()}`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  return { descr: descr[1], fortranOrder: fortran[1] === 'True', shape: dims, dataOffset: start + len };
}
