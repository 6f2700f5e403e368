/** Argument checks shared by the kernel wrappers: errors name what was expected and what was found. */
import type { Tensor } from '../gpu/index.ts';

export function sameSize(op: string, first: Tensor, ...rest: Tensor[]): void {
  for (const t of rest) {
    if (t.size !== first.size) throw new Error(`${op}: expected ${first.size} elements (shape [${first.shape}]), found ${t.size} (shape [${t.shape}])`);
  }
}

export function expectDType(op: string, name: string, t: Tensor, ...allowed: Tensor['dtype'][]): void {
  if (!allowed.includes(t.dtype)) throw new Error(`${op}: ${name} must be ${allowed.join(' or ')}, found ${t.dtype}`);
}

/** Expects `t` to have one axis per name in `dims` (e.g. ['B', 'C', 'H', 'W']). */
export function expectRank(op: string, name: string, t: Tensor, dims: readonly string[]): void {
  if (t.shape.length !== dims.length) throw new Error(`${op}: ${name} must be [${dims.join(', ')}], found [${t.shape.join(', ')}]`);
}

/** Expects a 1-D f32 tensor of n elements (an affine weight or bias of n channels). */
export function expectVector(op: string, name: string, t: Tensor, n: number): void {
  expectDType(op, name, t, 'f32');
  if (t.shape.length !== 1 || t.shape[0] !== n) throw new Error(`${op}: ${name} must be [${n}], found [${t.shape.join(', ')}]`);
}

/** Expects `out` to share no buffer with the inputs (WebGPU rejects a buffer bound writable and read-only at once). */
export function notAliased(op: string, out: Tensor, inputs: Record<string, Tensor | undefined>): void {
  for (const [name, t] of Object.entries(inputs)) {
    if (t && t.buffer === out.buffer) throw new Error(`${op}: out must be a separate buffer, found it shared with ${name}`);
  }
}

/**
 * Checks a row-wise op's f32 `x` [..., C] and `out` (as many elements) and returns C and the row count:
 * the shared preamble of the norms and softmax.
 */
export function rowsOf(op: string, out: Tensor, x: Tensor): { C: number; rows: number } {
  expectDType(op, 'x', x, 'f32');
  expectDType(op, 'out', out, 'f32');
  sameSize(op, x, out);
  const C = x.shape[x.shape.length - 1];
  if (x.shape.length === 0 || !(C > 0)) throw new Error(`${op}: x must be [..., C] with C ≥ 1, found [${x.shape.join(', ')}]`);
  return { C, rows: x.size / C };
}
