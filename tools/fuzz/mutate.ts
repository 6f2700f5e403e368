/**
 * Seeded mutations of real model files, as a broken download or an attacker would make them: truncation,
 * byte flips, header lengths, JSON dtypes, shapes and offsets, zip sizes, offsets, names and CRCs,
 * duplicated entries, deflate bombs, pickle opcodes that nest, grow or lie, and config values of every
 * wrong type and range. Each mutation says whether it touched structure (which a reader must notice) or
 * only tensor data (which safetensors, having no checksum, cannot).
 */
import { Rng } from '../../world/index.ts';
import { handPthEntries, storedZip } from '../../tests/io/archive.ts';
import { deflateRawSync } from 'node:zlib';

export const FORMATS = ['safetensors', 'pth', 'config', 'tokenizer'] as const;
export type Format = (typeof FORMATS)[number];

/** The real files each format's cases mutate, and the name each is written under. */
export const ORIGINALS: Record<Format, { path: string; name: string }> = {
  safetensors: { path: 'tests/fixtures/unified-tiny/weights.safetensors', name: 'weights.safetensors' },
  pth: { path: 'tests/fixtures/var-tiny/var.pth', name: 'var.pth' },
  config: { path: 'tests/fixtures/unified-tiny/config.json', name: 'config.json' },
  tokenizer: { path: 'tests/fixtures/unified-tiny/tokenizer.json', name: 'tokenizer.json' },
};


export interface Mutation {
  bytes: Uint8Array;
  /** What was done, e.g. 'header length -3'. */
  kind: string;
  /** 'data': only tensor bytes changed; 'structure': anything a reader can check. */
  region: 'data' | 'structure';
}

/** The case's generator: the same (seed, index) always makes the same file. */
export const caseRng = (seed: number, index: number) => new Rng(Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b));

export type { Rng };

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytesOf = (s: string) => new TextEncoder().encode(s);

function truncate(b: Uint8Array, r: Rng): Mutation {
  const at = r.int(b.length);
  return { bytes: b.slice(0, at), kind: `truncated to ${at} of ${b.length} bytes`, region: 'structure' };
}

function flip(b: Uint8Array, r: Rng, dataFrom = Infinity): Mutation {
  const out = b.slice();
  const at = r.int(b.length);
  const run = 1 + r.int(r.next() < 0.7 ? 1 : 16);
  for (let i = at; i < Math.min(at + run, b.length); i++) out[i] ^= 1 + r.int(255);
  return { bytes: out, kind: `${run} byte(s) flipped at ${at}`, region: at >= dataFrom ? 'data' : 'structure' };
}

// ---- safetensors -----------------------------------------------------------------------------------

interface Safetensors {
  header: Record<string, { dtype: string; shape: unknown[]; data_offsets: unknown[] } | Record<string, string>>;
  data: Uint8Array;
  headerLength: number;
}

function splitSafetensors(b: Uint8Array): Safetensors {
  const headerLength = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(text(b.subarray(8, 8 + headerLength))), data: b.subarray(8 + headerLength), headerLength };
}

function joinSafetensors(headerText: string, data: Uint8Array): Uint8Array {
  const json = bytesOf(headerText.padEnd(Math.ceil(headerText.length / 8) * 8, ' '));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function mutateSafetensors(b: Uint8Array, r: Rng): Mutation {
  const st = splitSafetensors(b);
  const names = Object.keys(st.header).filter((n) => n !== '__metadata__');
  const name = r.pick(names);
  const entry = st.header[name] as { dtype: string; shape: unknown[]; data_offsets: unknown[] };
  const rejoin = (kind: string) => ({ bytes: joinSafetensors(JSON.stringify(st.header), st.data), kind, region: 'structure' as const });
  switch (r.int(11)) {
    case 0: return truncate(b, r);
    case 1: return flip(b, r, 8 + st.headerLength);
    case 2: return flip(b, r, 8 + st.headerLength);
    case 3: {
      const out = b.slice();
      const k = (1 + r.int(8)) * (r.next() < 0.5 ? -1 : 1);
      new DataView(out.buffer).setBigUint64(0, BigInt(st.headerLength + k), true);
      return { bytes: out, kind: `header length ${k > 0 ? '+' : ''}${k}`, region: 'structure' };
    }
    case 4: {
      const to = r.pick(['I32', 'F16', 'BF16', 'F64', 'U8', 'I64', 'BOOL', 'Q4']);
      entry.dtype = to;
      return rejoin(`'${name}' dtype → ${to}`);
    }
    case 5: {
      const i = r.int(Math.max(entry.shape.length, 1));
      const how = r.pick(['+1', 'x65536', '-1', '1.5', 'append 1', 'drop', '2^40']);
      if (how === 'append 1') entry.shape.push(1);
      else if (how === 'drop') entry.shape.splice(i, 1);
      else entry.shape[i] = how === '+1' ? Number(entry.shape[i] ?? 0) + 1 : how === 'x65536' ? Number(entry.shape[i] ?? 1) * 65536 : how === '-1' ? -1 : how === '1.5' ? 1.5 : 2 ** 40;
      return rejoin(`'${name}' shape ${how} → [${entry.shape.join(', ')}]`);
    }
    case 6: {
      const [a, e] = entry.data_offsets as number[];
      const how = r.pick(['shift 4', 'end +4', 'begin -4', 'huge', 'strings']);
      entry.data_offsets = how === 'shift 4' ? [a + 4, e + 4] : how === 'end +4' ? [a, e + 4] : how === 'begin -4' ? [a - 4, e] : how === 'huge' ? [0, 2 ** 52] : [String(a), String(e)];
      return rejoin(`'${name}' data_offsets ${how}`);
    }
    case 7: {
      delete st.header[name];
      return rejoin(`'${name}' removed from the header`);
    }
    case 8: {
      const depth = 2000 + r.int(100_000);
      const nested = '['.repeat(depth) + ']'.repeat(depth);
      const headerText = JSON.stringify(st.header).replace(/^\{/, `{"__metadata__":{"x":${nested}},`);
      return { bytes: joinSafetensors(headerText, st.data), kind: `metadata nested ${depth} deep`, region: 'structure' };
    }
    case 9: {
      // The same key twice: JSON keeps the last, whose bytes then overlap another tensor's or leave a gap.
      const other = r.pick(names);
      const copy = JSON.stringify({ [name]: st.header[other] }).slice(1, -1);
      const headerText = JSON.stringify(st.header).replace(/\}$/, `,${copy}}`);
      return { bytes: joinSafetensors(headerText, st.data), kind: `'${name}' given twice (as '${other}')`, region: 'structure' };
    }
    default: {
      const extra = new Uint8Array(1 + r.int(64));
      const out = new Uint8Array(b.length + extra.length);
      out.set(b);
      out.set(extra, b.length);
      return { bytes: out, kind: `${extra.length} bytes appended`, region: 'structure' };
    }
  }
}

// ---- pth -------------------------------------------------------------------------------------------

const le = (v: number, n: number) => Array.from({ length: n }, (_, i) => (v >>> (8 * i)) & 0xff);

/** Offsets of the central directory records of a zip (as storedZip and torch.save write them). */
function centralRecords(b: Uint8Array): number[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let eocd = b.length - 22;
  while (eocd > 0 && dv.getUint32(eocd, true) !== 0x06054b50) eocd--;
  const count = dv.getUint16(eocd + 10, true);
  const out: number[] = [];
  let p = dv.getUint32(eocd + 16, true);
  for (let i = 0; i < count && p + 46 <= b.length; i++) {
    out.push(p);
    p += 46 + dv.getUint16(p + 28, true) + dv.getUint16(p + 30, true) + dv.getUint16(p + 32, true);
  }
  return out;
}

/** Pickle opcodes inserted after PROTO that leave the stack as it was: junk a bounded VM must survive. */
function pickleJunk(r: Rng): { ops: number[]; kind: string } {
  switch (r.int(6)) {
    case 0: {
      const n = 500 + r.int(5000);
      return { ops: [...new Array(n).fill(0x28), ...new Array(n).fill(0x31)], kind: `${n} nested MARKs` };
    }
    case 1: {
      const n = 9 + r.int(1 << 18);
      return { ops: [0x8b, ...le(n, 4), ...new Array(n).fill(0x7f), 0x30], kind: `LONG4 of ${n} bytes` };
    }
    case 2: {
      const n = 1000 + r.int(300_000);
      return { ops: [0x5d, 0x28, ...new Array(n).fill(0x4e), 0x65, 0x30], kind: `APPENDS of ${n} items` };
    }
    case 3: return { ops: [0x8c, 3, 0xff, 0xfe, 0x28, 0x30], kind: 'invalid UTF-8 string' };
    case 4: {
      const n = 100 + r.int(2000);
      const ops: number[] = [0x4e];
      for (let i = 0; i < n; i++) ops.push(0x72, ...le(r.int(2 ** 31), 4));
      return { ops: [...ops, 0x30], kind: `${n} LONG_BINPUTs at random indices` };
    }
    default: return { ops: [0x68, r.int(256)], kind: 'BINGET of an entry never stored' };
  }
}

function mutatePth(b: Uint8Array, r: Rng): Mutation {
  const structure = (bytes: Uint8Array, kind: string): Mutation => ({ bytes, kind, region: 'structure' });
  const entries = handPthEntries(b);
  switch (r.int(9)) {
    case 0: return truncate(b, r);
    case 1:
    case 2: return flip(b, r); // the CRC-32 covers what the directory does not
    case 3: {
      const out = b.slice();
      const dv = new DataView(out.buffer);
      const rec = r.pick(centralRecords(b));
      const field = r.pick([['crc', 16], ['compressed size', 20], ['size', 24], ['name length', 28], ['header offset', 42]] as const);
      const width = field[0] === 'name length' ? 2 : 4;
      const old = width === 2 ? dv.getUint16(rec + field[1], true) : dv.getUint32(rec + field[1], true);
      const k = (1 + r.int(64)) * (r.next() < 0.5 ? -1 : 1);
      const value = Math.max(0, old + k) >>> 0;
      if (width === 2) dv.setUint16(rec + field[1], value & 0xffff, true);
      else dv.setUint32(rec + field[1], value, true);
      return structure(out, `central ${field[0]} ${old} → ${value}`);
    }
    case 4: {
      const recs = centralRecords(b);
      const [a, c] = [r.pick(recs), r.pick(recs)];
      const out = b.slice();
      const dv = new DataView(out.buffer);
      dv.setUint32(a + 42, dv.getUint32(c + 42, true), true);
      return structure(out, "one entry's header offset pointed at another's");
    }
    case 5: {
      const i = r.int(entries.length);
      const dup = { ...entries[i], data: entries[i].data.slice().reverse() };
      return structure(storedZip([...entries, dup]), `entry '${entries[i].name}' duplicated`);
    }
    case 6: {
      const storages = entries.filter((e) => /\/data\/\d+$/.test(e.name));
      const s = r.pick(storages);
      const bomb = r.next() < 0.5;
      const packed = deflateRawSync(bomb ? new Uint8Array(1 << 20) : s.data);
      const size = bomb ? 2 ** 31 + r.int(2 ** 30) : s.data.length - 4;
      const rebuilt = entries.map((e) => (e === s ? { ...e, deflated: packed, size } : e));
      return structure(storedZip(rebuilt), bomb ? `storage '${s.name}' a deflate bomb declaring ${size} bytes` : `storage '${s.name}' deflated, declared 4 bytes short`);
    }
    default: {
      const pkl = entries.find((e) => e.name.endsWith('data.pkl'))!;
      const junk = pickleJunk(r);
      const data = Uint8Array.from([...pkl.data.subarray(0, 2), ...junk.ops, ...pkl.data.subarray(2)]);
      return structure(storedZip(entries.map((e) => (e === pkl ? { ...e, data } : e))), `pickle: ${junk.kind}`);
    }
  }
}

// ---- JSON files ------------------------------------------------------------------------------------

const WRONG_VALUES: readonly unknown[] = [null, 'false', '1', -1, 0, 1.5, 1e308, 2 ** 53, [], {}, true, [0], [-1, 2], 'circular', 1e-320];

function mutateConfig(b: Uint8Array, r: Rng): Mutation {
  if (r.next() < 0.15) return r.next() < 0.5 ? truncate(b, r) : flip(b, r);
  const json = JSON.parse(text(b)) as Record<string, Record<string, unknown>>;
  const sections = Object.keys(json).filter((k) => typeof json[k] === 'object' && json[k] !== null && !Array.isArray(json[k]));
  const section = r.pick(sections);
  const keys = Object.keys(json[section]);
  const key = r.pick(keys);
  let kind: string;
  switch (r.int(4)) {
    case 0:
      delete json[section][key];
      kind = `"${section}"."${key}" removed`;
      break;
    case 1:
      json[section][`${key}_`] = json[section][key];
      kind = `"${section}" gains unknown key "${key}_"`;
      break;
    case 2:
      json.family = r.pick(['var', 'unified', 'VAR', 7, null]) as never;
      kind = `"family" → ${JSON.stringify(json.family)}`;
      break;
    default: {
      const v = r.pick(WRONG_VALUES);
      json[section][key] = v;
      kind = `"${section}"."${key}" → ${JSON.stringify(v)}`;
    }
  }
  return { bytes: bytesOf(JSON.stringify(json)), kind, region: 'structure' };
}

function mutateTokenizer(b: Uint8Array, r: Rng): Mutation {
  if (r.next() < 0.25) return r.next() < 0.5 ? truncate(b, r) : flip(b, r);
  const json = JSON.parse(text(b)) as Record<string, any>;
  let kind: string;
  switch (r.int(6)) {
    case 0:
      json.pre_tokenizer = { type: 'Split', pattern: { Regex: '(a+)+$' }, behavior: 'Isolated', invert: false };
      kind = 'a catastrophic-backtracking Regex pre-tokenizer';
      break;
    case 1:
      delete json.model;
      kind = 'no model';
      break;
    case 2: {
      const tokens = Object.keys(json.model.vocab);
      const t = r.pick(tokens);
      json.model.vocab[t] = r.pick([-1, 1e9, 'x', 1.5, null]);
      kind = `vocab '${t}' → ${JSON.stringify(json.model.vocab[t])}`;
      break;
    }
    case 3:
      json.model.merges = r.pick([[['a']], [42], 'x', [['', '']]]);
      kind = `merges → ${JSON.stringify(json.model.merges)}`;
      break;
    case 4:
      json.added_tokens = [...(json.added_tokens ?? []), { id: r.pick([0, 1e9, -5]), content: '<image>', special: true }];
      kind = 'an added token repeated with another id';
      break;
    default:
      json.normalizer = r.pick([{ type: 'Nope' }, { type: 'Replace', pattern: { Regex: '(x|x)*y' }, content: '' }, null, 5]);
      kind = `normalizer → ${JSON.stringify(json.normalizer)}`;
  }
  return { bytes: bytesOf(JSON.stringify(json)), kind, region: 'structure' };
}

/** The mutation of case `index` of `seed` for a format, applied to the format's real file. */
export function mutate(format: Format, original: Uint8Array, r: Rng): Mutation {
  switch (format) {
    case 'safetensors': return mutateSafetensors(original, r);
    case 'pth': return mutatePth(original, r);
    case 'config': return mutateConfig(original, r);
    case 'tokenizer': return mutateTokenizer(original, r);
  }
}
