/**
 * A small pickle virtual machine for the opcodes torch.save emits (protocol 2, plus the framing and
 * memo opcodes of protocols 3-4). It builds plain values: None → null, ints → number (bigint beyond
 * 2^53), str → string, bytes → Uint8Array, tuples and lists → arrays, dicts → Map. Nothing is
 * imported or executed: a GLOBAL resolves only through the caller's allow-list, REDUCE calls only
 * the `Callable`s that list returns, and any other opcode is refused by name. Work is bounded: integers
 * of at most 64 bytes, a memo of at most a million entries, MARKs nested at most 1,000 deep, so a
 * hostile pickle fails fast with an error naming the opcode instead of stalling or exhausting memory.
 */

/** A function the allow-list exposes to REDUCE (e.g. torch._utils._rebuild_tensor_v2). */
export class Callable {
  constructor(
    readonly name: string,
    readonly call: (args: unknown[]) => unknown,
  ) {}
}

export interface UnpickleHooks {
  /** The value of `module.name`, or undefined when it is not allowed. */
  global(module: string, name: string): unknown;
  /** Resolves a BINPERSID id (torch: a storage reference tuple). */
  persistentLoad(pid: unknown): unknown;
  /** Applies BUILD's state to an object; returns false when the object takes no state. */
  build?(obj: unknown, state: unknown): boolean;
}

const NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT',
  0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE',
  0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND',
  0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET',
  0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME',
  0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/** Bounds on a pickle's work (a state dict's pickle stays far below each). */
export const PICKLE_LIMITS = { intBytes: 64, memo: 1_000_000, depth: 1_000 } as const;

/** Runs a pickle and returns the value STOP leaves; `file` names the pickle in errors. */
export function unpickle(bytes: Uint8Array, hooks: UnpickleHooks, file: string): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const latin1 = new TextDecoder('latin1');
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  let at = 0;
  let op = 0;

  const fail = (what: string) => new Error(`${file}: ${what} (pickle opcode ${NAMES[op] ?? 'unknown'} at byte ${at})`);
  const need = (n: number): number => {
    if (pos + n > bytes.length) throw fail(`pickle ends after ${bytes.length} bytes, expected ${n} more`);
    const p = pos;
    pos += n;
    return p;
  };
  const u8 = () => bytes[need(1)];
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = () => {
    const v = view.getBigUint64(need(8), true);
    if (v > BigInt(bytes.length)) throw fail(`length ${v} runs past the pickle's ${bytes.length} bytes`);
    return Number(v);
  };
  const take = (n: number) => bytes.subarray(need(n), pos);
  const text = (raw: Uint8Array) => {
    try {
      return utf8.decode(raw);
    } catch {
      throw fail(`string of ${raw.length} bytes is not valid UTF-8`);
    }
  };
  const long = (n: number) => {
    if (n > PICKLE_LIMITS.intBytes) throw fail(`integer of ${n} bytes, expected at most ${PICKLE_LIMITS.intBytes}`);
    return int(take(n));
  };
  const put = (i: number, v: unknown) => {
    if (!memo.has(i) && memo.size >= PICKLE_LIMITS.memo) throw fail(`memo of more than ${PICKLE_LIMITS.memo} entries`);
    memo.set(i, v);
  };
  const pop = (): unknown => {
    if (stack.length === 0) throw fail('pickle stack underflow (corrupt file?)');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw fail('pickle stack underflow (corrupt file?)');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const outer = marks.pop();
    if (!outer) throw fail('no MARK to pop to (corrupt file?)');
    stack = outer;
    return items;
  };
  const int = (raw: Uint8Array): number | bigint => {
    let v = 0n;
    for (let i = raw.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i]);
    if (raw.length && raw[raw.length - 1] & 0x80) v -= 1n << BigInt(8 * raw.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const asMap = (d: unknown): Map<unknown, unknown> => {
    if (!(d instanceof Map)) throw fail(`expected a dict to set items on, found ${typeof d}`);
    return d;
  };
  const asList = (l: unknown): unknown[] => {
    if (!Array.isArray(l)) throw fail(`expected a list to append to, found ${typeof l}`);
    return l;
  };
  const setItems = (d: Map<unknown, unknown>, items: unknown[]) => {
    if (items.length % 2) throw fail('odd number of items for a dict');
    for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
  };
  const global = (module: string, name: string) => {
    const value = hooks.global(module, name);
    if (value === undefined) throw fail(`global '${module}.${name}' is not allowed (only what a state dict of tensors uses)`);
    return value;
  };
  const get = (i: number) => {
    if (!memo.has(i)) throw fail(`memo entry ${i} was never stored (corrupt file?)`);
    return memo.get(i);
  };

  for (;;) {
    at = pos;
    op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: need(8); break; // FRAME: the frame's bytes follow inline
      case 0x2e: return pop(); // STOP
      case 0x28: // MARK
        if (marks.length >= PICKLE_LIMITS.depth) throw fail(`MARKs nested more than ${PICKLE_LIMITS.depth} deep`);
        marks.push(stack);
        stack = [];
        break;
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(long(u8())); break; // LONG1
      case 0x8b: stack.push(long(u32())); break; // LONG4
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x58: stack.push(text(take(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(text(take(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(text(take(u64()))); break; // BINUNICODE8
      case 0x54: stack.push(latin1.decode(take(u32()))); break; // BINSTRING
      case 0x55: stack.push(latin1.decode(take(u8()))); break; // SHORT_BINSTRING
      case 0x42: stack.push(take(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(take(u8()).slice()); break; // SHORT_BINBYTES
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x74: case 0x6c: { const items = popMark(); stack.push(items); break; } // TUPLE, LIST
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); stack.push([pop(), b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); stack.push([pop(), b, c]); break; } // TUPLE3
      case 0x64: { const d = new Map(); setItems(d, popMark()); stack.push(d); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); asMap(top()).set(k, v); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(asMap(top()), items); break; } // SETITEMS
      case 0x61: { const v = pop(); asList(top()).push(v); break; } // APPEND
      case 0x65: { const items = popMark(); const list = asList(top()); for (const v of items) list.push(v); break; } // APPENDS
      case 0x71: put(u8(), top()); break; // BINPUT
      case 0x72: put(u32(), top()); break; // LONG_BINPUT
      case 0x94: put(memo.size, top()); break; // MEMOIZE
      case 0x68: stack.push(get(u8())); break; // BINGET
      case 0x6a: stack.push(get(u32())); break; // LONG_BINGET
      case 0x63: { // GLOBAL: "module\nname\n"
        const line = () => {
          const end = bytes.indexOf(0x0a, pos);
          if (end < 0) throw fail('GLOBAL name is not terminated');
          const s = latin1.decode(bytes.subarray(pos, end));
          pos = end + 1;
          return s;
        };
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw fail('STACK_GLOBAL expects two strings');
        stack.push(global(module, name));
        break;
      }
      case 0x51: stack.push(hooks.persistentLoad(pop())); break; // BINPERSID
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof Callable)) throw fail(`REDUCE of ${describe(fn)}, which is not callable`);
        if (!Array.isArray(args)) throw fail(`REDUCE of ${fn.name} with arguments that are not a tuple`);
        stack.push(fn.call(args));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        if (!hooks.build?.(top(), state)) throw fail(`BUILD on ${describe(top())} is not supported`);
        break;
      }
      default:
        throw new Error(
          `${file}: unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} (${NAMES[op] ?? 'unknown'}) at byte ${at}; ` +
            'only the opcodes torch.save uses for a state dict are read',
        );
    }
  }
}

function describe(v: unknown): string {
  if (v instanceof Callable) return v.name;
  if (v instanceof Map) return 'a dict';
  if (Array.isArray(v)) return 'a tuple or list';
  return v === null ? 'None' : typeof v === 'object' ? (v.constructor?.name ?? 'an object') : `${typeof v} ${String(v)}`;
}

/**
 * A short, safe rendering of an unpickled value for error messages: bigints, dicts, bytes, cycles and
 * deep or long containers (a hostile pickle makes all of them) never throw and stay short.
 */
export function show(v: unknown, depth = 2): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (typeof v === 'bigint') return `${v}n`.length > 24 ? `an integer of ${v.toString(16).length * 4} bits` : `${v}`;
  if (v === null) return 'None';
  if (typeof v !== 'object') return String(v);
  if (v instanceof Uint8Array) return `bytes[${v.length}]`;
  if (v instanceof Map) return `a dict of ${v.size}`;
  if (!Array.isArray(v)) return describe(v);
  if (depth === 0) return `(${v.length} items)`;
  const items = v.slice(0, 5).map((x) => show(x, depth - 1));
  return `(${items.join(', ')}${v.length > 5 ? `, … ${v.length} in all` : ''})`;
}
