/**
 * Builds an ONNX graph of standard operators (opset 17) as a list of calls, output first, the way a
 * model file reads: `x = b.add(x, b.linear(h, w))`. Every value is named by the builder; constants are
 * initializers. The layers here are the ones nextscale's models are made of, written with the same
 * arithmetic as its kernels (runtime/reference), so a graph and the runtime can be compared number for
 * number: RMSNorm, a Linear with its weight [out, in], SiLU as x / (1 + e^-x), GroupNorm(32) as an
 * instance norm over the channel groups, and convolutions padded with zeros or around the torus.
 */
import { writeModel, type OnnxAttribute, type OnnxDType, type OnnxGraph, type OnnxNode, type OnnxTensor, type OnnxValue } from './onnx-proto.ts';

/** How a convolution pads: with zeros, or around the torus (the runtime's 'circular'). */
export type OnnxPadding = 'zeros' | 'circular';

export class OnnxBuilder {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: OnnxTensor[] = [];
  private readonly inputs: OnnxValue[] = [];
  private readonly outputs: OnnxValue[] = [];
  private readonly intConstants = new Map<string, string>();
  private readonly floatConstants = new Map<number, string>();
  private count = 0;

  constructor(readonly name: string) {}

  /** A fresh value name, `hint` first. */
  private fresh(hint: string): string {
    return `${hint}_${this.count++}`;
  }

  /** Declares a graph input. */
  input(name: string, shape: readonly (number | string)[], dtype: OnnxDType = 'float32'): string {
    this.inputs.push({ name, dtype, shape });
    return name;
  }

  /** Marks `value` as the graph output `name`. */
  output(value: string, name: string, shape: readonly (number | string)[], dtype: OnnxDType = 'float32'): void {
    this.nodes.push({ op: 'Identity', inputs: [value], outputs: [name] });
    this.outputs.push({ name, dtype, shape });
  }

  /** A float constant (an initializer) of the given dims. */
  weight(hint: string, data: Float32Array, dims: readonly number[]): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, dims, dtype: 'float32', data });
    return name;
  }

  /** A 1-D int64 constant (shapes, axes, splits), shared between uses of the same values. */
  ints(values: readonly number[]): string {
    const key = values.join(',');
    let name = this.intConstants.get(key);
    if (!name) {
      name = this.fresh('ints');
      this.initializers.push({ name, dims: [values.length], dtype: 'int64', data: BigInt64Array.from(values, (v) => BigInt(v)) });
      this.intConstants.set(key, name);
    }
    return name;
  }

  /** A float scalar constant, shared between uses. */
  scalar(value: number): string {
    let name = this.floatConstants.get(value);
    if (!name) {
      name = this.fresh('scalar');
      this.initializers.push({ name, dims: [], dtype: 'float32', data: Float32Array.of(value) });
      this.floatConstants.set(value, name);
    }
    return name;
  }

  /** One node with one output; returns the output's name. */
  op(op: string, inputs: readonly string[], attributes?: Record<string, OnnxAttribute>): string {
    const out = this.fresh(op.toLowerCase());
    this.nodes.push({ op, inputs, outputs: [out], attributes });
    return out;
  }

  /** One node with several outputs. */
  ops(op: string, inputs: readonly string[], outputs: number, attributes?: Record<string, OnnxAttribute>): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(op.toLowerCase()));
    this.nodes.push({ op, inputs, outputs: outs, attributes });
    return outs;
  }

  add(a: string, b: string): string {
    return this.op('Add', [a, b]);
  }

  mul(a: string, b: string): string {
    return this.op('Mul', [a, b]);
  }

  matmul(a: string, b: string): string {
    return this.op('MatMul', [a, b]);
  }

  reshape(x: string, shape: readonly number[]): string {
    return this.op('Reshape', [x, this.ints(shape)]);
  }

  transpose(x: string, perm: readonly number[]): string {
    return this.op('Transpose', [x], { perm });
  }

  concat(xs: readonly string[], axis: number): string {
    return this.op('Concat', xs, { axis });
  }

  /** x[starts:ends] along `axes` (ends may be negative or past the end, as ONNX's Slice takes them). */
  slice(x: string, starts: readonly number[], ends: readonly number[], axes: readonly number[]): string {
    return this.op('Slice', [x, this.ints(starts), this.ints(ends), this.ints(axes)]);
  }

  split(x: string, sizes: readonly number[], axis: number): string[] {
    return this.ops('Split', [x, this.ints(sizes)], sizes.length, { axis });
  }

  /** y = x · Wᵀ + b for a weight [out, in] (a PyTorch Linear), x [..., in]. */
  linear(x: string, hint: string, w: Float32Array, outFeatures: number, inFeatures: number, b?: Float32Array): string {
    const y = this.matmul(x, this.weight(`${hint}.weight_t`, transposed(w, outFeatures, inFeatures), [inFeatures, outFeatures]));
    return b ? this.add(y, this.weight(`${hint}.bias`, b, [outFeatures])) : y;
  }

  /** x · rsqrt(mean(x²) + eps) · weight over the last axis. */
  rmsNorm(x: string, hint: string, weight: Float32Array, eps: number): string {
    const meanSquare = this.op('ReduceMean', [this.mul(x, x)], { axes: [-1], keepdims: 1 });
    const inv = this.op('Reciprocal', [this.op('Sqrt', [this.add(meanSquare, this.scalar(eps))])]);
    return this.mul(this.mul(x, inv), this.weight(hint, weight, [weight.length]));
  }

  /** silu(x) = x / (1 + e^-x). */
  silu(x: string): string {
    return this.mul(x, this.op('Sigmoid', [x]));
  }

  /**
   * GroupNorm of x [B, C, H, W] in `groups` groups (biased variance, `eps`), then the per-channel
   * affine, then SiLU when asked: an instance norm over [B, groups, C/groups·H·W].
   */
  groupNorm(x: string, shape: readonly number[], groups: number, eps: number, weight: Float32Array, bias: Float32Array, silu: boolean, hint: string): string {
    const [B, C, H, W] = shape;
    const grouped = this.reshape(x, [B, groups, (C / groups) * H * W]);
    const ones = this.weight(`${hint}.ones`, new Float32Array(groups).fill(1), [groups]);
    const zeros = this.weight(`${hint}.zeros`, new Float32Array(groups), [groups]);
    const normed = this.reshape(this.op('InstanceNormalization', [grouped, ones, zeros], { epsilon: { float: eps } }), [B, C, H, W]);
    const y = this.add(this.mul(normed, this.weight(`${hint}.weight`, weight, [C, 1, 1])), this.weight(`${hint}.bias`, bias, [C, 1, 1]));
    return silu ? this.silu(y) : y;
  }

  /**
   * A k x k convolution of x [B, Cin, H, W], stride 1, padded by (k - 1) / 2 on each side: with
   * zeros, or around the torus ('circular': the map is wrapped by slices and concatenation first,
   * since ONNX's Conv pads only with zeros).
   */
  conv(x: string, hint: string, w: Float32Array, b: Float32Array, cout: number, cin: number, k: number, padding: OnnxPadding): string {
    const p = (k - 1) / 2;
    let input = x;
    let pads = [p, p, p, p];
    if (padding === 'circular' && p > 0) {
      for (const axis of [3, 2]) input = this.concat([this.slice(input, [-p], [Number.MAX_SAFE_INTEGER], [axis]), input, this.slice(input, [0], [p], [axis])], axis);
      pads = [0, 0, 0, 0];
    }
    const wName = this.weight(`${hint}.weight`, w, [cout, cin, k, k]);
    const bName = this.weight(`${hint}.bias`, b, [cout]);
    return this.op('Conv', [input, wName, bName], { kernel_shape: [k, k], pads, strides: [1, 1] });
  }

  /** The finished graph. */
  graph(): OnnxGraph {
    return { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs };
  }

  /** The finished graph as an ONNX file's bytes. */
  bytes(): Uint8Array {
    return writeModel(this.graph());
  }
}

/** w [rows, cols] transposed to [cols, rows]. */
export function transposed(w: Float32Array, rows: number, cols: number): Float32Array {
  if (w.length !== rows * cols) throw new Error(`transposed: [${rows}, ${cols}] holds ${rows * cols} values, found ${w.length}`);
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  }
  return out;
}
