/**
 * Token rows from two broadcast sources: out[g, outOffset + l, c] = a[g mod Ga, l mod La, c] +
 * b[bOffset + l, c]. VAR builds every scale's input with it (class or word embedding + positions).
 * WGSL: shaders/broadcast-add.wgsl. Reference: runtime/reference/broadcast-add.ts.
 */
import source from '../../shaders/broadcast-add.wgsl?raw';
import { grid, Kernel, type Recorder, type Tensor } from '../gpu/index.ts';

const kernel = new Kernel({ name: 'broadcast_add', source });

export interface BroadcastAddOptions {
  /** Rows written per group (l < rows). */
  rows: number;
  /** First row of out written (out is [G, outRows, C]). */
  outOffset?: number;
  /** First row of b read. */
  bOffset?: number;
}

/** out: [G, outRows, C]; a: [Ga, La, C] with G a multiple of Ga; b: [Lb, C]. */
export function broadcastAdd(rec: Recorder, out: Tensor, a: Tensor, b: Tensor, opts: BroadcastAddOptions): void {
  const [G, outRows, C] = out.shape;
  const [Ga, La, Ca] = a.shape;
  const outOffset = opts.outOffset ?? 0;
  const bOffset = opts.bOffset ?? 0;
  if (out.shape.length !== 3 || a.shape.length !== 3 || Ca !== C || G % Ga !== 0) {
    throw new Error(`broadcastAdd: expected out [G, L, C] and a [Ga, La, C] with G a multiple of Ga, found out [${out.shape}], a [${a.shape}]`);
  }
  if (b.shape[b.shape.length - 1] !== C || (bOffset + opts.rows) * C > b.size || outOffset + opts.rows > outRows) {
    throw new Error(`broadcastAdd: rows ${opts.rows} at out offset ${outOffset} / b offset ${bOffset} do not fit out [${out.shape}], b [${b.shape}]`);
  }
  const n = G * opts.rows * C;
  rec.dispatch(kernel, {
    bindings: { out, a, b },
    uniforms: { n, C, rows: opts.rows, out_rows: outRows, out_off: outOffset, a_groups: Ga, a_rows: La, b_off: bOffset },
    workgroups: grid(n, 256),
    // The rows written and read, not the whole of out and of b.
    bytes: 4 * (n + Math.min(a.size, n) + opts.rows * C),
  });
}
