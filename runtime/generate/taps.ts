/**
 * The debug hook's collector: `tap` copies a named intermediate into a buffer of its own at the point
 * of recording (later work may overwrite the original), and `collect` reads them all back once the
 * work is submitted. Only tests and debugging install it; without it the hot path copies nothing.
 */
import type { Gpu, HostArray, Recorder, Tensor } from '../gpu/index.ts';

export interface Tapped {
  shape: readonly number[];
  data: HostArray;
}

export class TapCollector {
  private readonly pending: [string, Tensor][] = [];

  constructor(
    private readonly gpu: Gpu,
    /** Which names to keep (all when omitted). */
    private readonly filter?: RegExp,
  ) {}

  readonly tap = (rec: Recorder, name: string, t: Tensor): void => {
    if (this.filter && !this.filter.test(name)) return;
    const copy = this.gpu.tensor(t.shape, t.dtype, `tap ${name}`);
    rec.copy(t.buffer, 0, copy.buffer, 0, Math.ceil(t.byteLength / 4) * 4);
    this.pending.push([name, copy]);
  };

  /** Reads every tapped tensor back and frees the copies. A name tapped twice keeps the last. */
  async collect(): Promise<Map<string, Tapped>> {
    const out = new Map<string, Tapped>();
    for (const [name, t] of this.pending.splice(0)) {
      out.set(name, { shape: t.shape, data: await this.gpu.read(t) });
      t.dispose();
    }
    return out;
  }
}
