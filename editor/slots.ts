/**
 * The scenes' generation slots as engine entities: each slot is one generation of the editor's
 * settings with the seed moved by the slot's variant, so the gallery's panels differ from each other
 * and from the studio's mesh while sharing class or prompt, guidance and sampling. Changing a setting updates
 * every slot; the engine restarts those whose settings changed.
 */
import {
  addGeneration,
  getProgress,
  removeGeneration,
  setGenerationSettings,
  type Engine,
  type GenerationSettings,
} from '../runtime/ecs/index.ts';
import type { GenerationSlots, SlotHints } from '../scenes/index.ts';
import { SEED_LIMIT } from './settings.ts';

/** The settings every slot shares; the seed is the variant 0 seed. */
export type SharedSettings = Required<Pick<GenerationSettings, 'classLabel' | 'prompt' | 'seed' | 'cfg' | 'topK' | 'topP' | 'temperature'>>;

export class EngineSlots implements GenerationSlots {
  private readonly variants = new Map<number, number>();
  /** Engine id of the model every slot uses (0: none loaded yet). */
  private model = 0;

  constructor(
    private readonly engine: Engine,
    private shared: SharedSettings,
  ) {}

  acquire(variant: number, hints: SlotHints = {}): number {
    const eid = addGeneration(this.engine, { ...this.settingsOf(variant), ...hints });
    this.variants.set(eid, variant);
    return eid;
  }

  release(slot: number): void {
    if (!this.variants.delete(slot)) return;
    removeGeneration(this.engine, slot);
  }

  hint(slot: number, hints: SlotHints): void {
    if (this.variants.has(slot)) setGenerationSettings(this.engine, slot, hints);
  }

  /** Applies new shared settings to every slot (the engine restarts the ones that changed). */
  setShared(shared: SharedSettings): void {
    this.shared = { ...shared };
    for (const [slot, variant] of this.variants) setGenerationSettings(this.engine, slot, this.settingsOf(variant));
  }

  /** Points every slot at another loaded model. */
  setModel(id: number): void {
    this.model = id;
    for (const slot of this.variants.keys()) setGenerationSettings(this.engine, slot, { model: id });
  }

  /** How many slots hold a finished image, out of all. */
  doneCount(): { done: number; all: number } {
    let done = 0;
    for (const slot of this.variants.keys()) if (getProgress(this.engine, slot).state === 'done') done++;
    return { done, all: this.variants.size };
  }

  has(slot: number): boolean {
    return this.variants.has(slot);
  }

  private settingsOf(variant: number): GenerationSettings {
    return { ...this.shared, model: this.model, seed: (this.shared.seed + variant) % SEED_LIMIT };
  }
}
