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
