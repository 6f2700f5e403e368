/**
 * A dependency-free writer of ONNX model files: the protobuf wire format (varints and length-delimited
 * fields) and the few messages a graph of standard operators needs — ModelProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto, ValueInfoProto — with field numbers from onnx/onnx.proto. It only
 * writes: the peer bench builds its graphs here and hands the bytes to ONNX Runtime, which parses them.
 */

/** TensorProto.DataType values used here. */
export const ONNX_FLOAT = 1;
export const ONNX_INT32 = 6;
export const ONNX_INT64 = 7;

/** The element types a tensor may hold here, by name. */
export type OnnxDType = 'float32' | 'int32' | 'int64';

const DATA_TYPE: Record<OnnxDType, number> = { float32: ONNX_FLOAT, int32: ONNX_INT32, int64: ONNX_INT64 };

/** AttributeProto.AttributeType values. */
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;

/** Appends protobuf fields to a growing byte buffer. */
export class ProtoWriter {
  private bytes = new Uint8Array(256);
  private length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  /** An unsigned varint (a bigint for int64 values past 2^53, negatives as their two's complement). */
  varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    this.reserve(10);
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      this.bytes[this.length++] = byte;
    } while (v !== 0n);
  }

  private key(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  /** A varint field (int32, int64, enum). */
  int(field: number, value: number | bigint): void {
    this.key(field, 0);
    this.varint(value);
  }

  /** A 32-bit float field (wire type 5, little-endian). */
  float(field: number, value: number): void {
    this.key(field, 5);
    this.reserve(4);
    new DataView(this.bytes.buffer).setFloat32(this.length, value, true);
    this.length += 4;
  }

  /** A length-delimited field of raw bytes. */
  raw(field: number, data: Uint8Array): void {
    this.key(field, 2);
    this.varint(data.length);
    this.reserve(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }

  string(field: number, value: string): void {
    this.raw(field, new TextEncoder().encode(value));
  }

  /** A nested message, written by `body` into a writer of its own. */
  message(field: number, body: (w: ProtoWriter) => void): void {
    const inner = new ProtoWriter();
    body(inner);
    this.raw(field, inner.finish());
  }

  /** Packed repeated varints. */
  packedInts(field: number, values: readonly (number | bigint)[]): void {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    this.raw(field, inner.finish());
  }

  /** Packed repeated 32-bit floats. */
  packedFloats(field: number, values: readonly number[]): void {
    this.raw(field, new Uint8Array(Float32Array.from(values).buffer));
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/** A constant tensor of the graph (an initializer), stored as little-endian raw data. */
export interface OnnxTensor {
  name: string;
  dims: readonly number[];
  dtype: OnnxDType;
  data: Float32Array | Int32Array | BigInt64Array;
}

export type OnnxAttribute = number | readonly number[] | string | { float: number } | { floats: readonly number[] };

export interface OnnxNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  /** Whole numbers are written as INT attributes; `{ float }` and `{ floats }` as FLOAT ones. */
  attributes?: Record<string, OnnxAttribute>;
}

/** A graph input or output: its name, element type, and shape (a string names a free dimension). */
export interface OnnxValue {
  name: string;
  dtype: OnnxDType;
  shape: readonly (number | string)[];
}

export interface OnnxGraph {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValue[];
  outputs: readonly OnnxValue[];
}

/** ONNX IR version 8 goes with opsets up to 18; the graphs here use opset 17. */
const IR_VERSION = 8;
export const OPSET = 17;

function writeTensor(w: ProtoWriter, t: OnnxTensor): void {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) throw new Error(`ONNX tensor ${t.name}: dims [${t.dims}] hold ${count} values, found ${t.data.length}`);
  w.packedInts(1, t.dims);
  w.int(2, DATA_TYPE[t.dtype]);
  w.string(8, t.name);
  w.raw(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function writeAttribute(w: ProtoWriter, name: string, a: OnnxAttribute): void {
  w.string(1, name);
  if (typeof a === 'number') {
    if (!Number.isInteger(a)) throw new Error(`ONNX attribute ${name}: ${a} is not a whole number (write { float: ${a} })`);
    w.int(3, a);
    w.int(20, ATTR_INT);
  } else if (typeof a === 'string') {
    w.string(4, a);
    w.int(20, ATTR_STRING);
  } else if (Array.isArray(a)) {
    w.packedInts(8, a);
    w.int(20, ATTR_INTS);
  } else if ('float' in a) {
    w.float(2, a.float);
    w.int(20, ATTR_FLOAT);
  } else if ('floats' in a) {
    w.packedFloats(7, a.floats);
    w.int(20, ATTR_FLOATS);
  }
}

function writeNode(w: ProtoWriter, n: OnnxNode): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.op);
  for (const [name, a] of Object.entries(n.attributes ?? {})) w.message(5, (m) => writeAttribute(m, name, a));
}

function writeValue(w: ProtoWriter, v: OnnxValue): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, DATA_TYPE[v.dtype]);
      tensor.message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

/** The bytes of a ModelProto holding `graph`, default-domain opset 17. */
export function writeModel(graph: OnnxGraph, producer = 'nextscale'): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, IR_VERSION);
  w.string(2, producer);
  w.message(7, (g) => {
    for (const n of graph.nodes) g.message(1, (m) => writeNode(m, n));
    g.string(2, graph.name);
    for (const t of graph.initializers) g.message(5, (m) => writeTensor(m, t));
    for (const v of graph.inputs) g.message(11, (m) => writeValue(m, v));
    for (const v of graph.outputs) g.message(12, (m) => writeValue(m, v));
  });
  w.message(8, (op) => {
    op.string(1, '');
    op.int(2, OPSET);
  });
  return w.finish();
}
