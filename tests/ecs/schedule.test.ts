/**
 * The scheduler and the cost model on their own, without a GPU: sessions are stand-ins that only have
 * the shape the scheduler reads (depth and scales), and costs are fed by hand.
 */
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../../runtime/gpu/index.ts';
import {
  addGeneration,
  createCostModel,
  createEngine,
  estimateCost,
  GenerationState,
  observeCost,
  scheduleSystem,
  setBudget,
  type Engine,
} from '../../runtime/ecs/index.ts';
import type { ImageGeneration } from '../../runtime/generate/generation.ts';
import { planLength, plannedUnit, type UnitPlan } from '../../runtime/generate/steps.ts';

const DEPTH = 2;
const SCALES = 4;
const UNITS = 1 + SCALES * (DEPTH + 1) + 1;

/** An engine whose generations run stand-in sessions of a depth-2, 4-scale model (id 1). */
function fakeEngine(count: number): { engine: Engine; eids: number[] } {
  const engine = createEngine({} as Gpu, { systems: [scheduleSystem] });
  const eids = Array.from({ length: count }, () => addGeneration(engine, { model: 1 }));
  for (const eid of eids) {
    const plan: UnitPlan = { conditionUnits: 1, blocksUnits: DEPTH, scales: SCALES };
    const session = { plan, scales: SCALES, totalSteps: planLength(plan), stepsTaken: 0, unit: (i: number) => plannedUnit(plan, i) };
    engine.sessions.set(eid, session as unknown as ImageGeneration);
    engine.Generation.state[eid] = GenerationState.running;
    engine.Generation.units[eid] = UNITS;
    engine.Generation.dirty[eid] = 0;
  }
  return { engine, eids };
}

describe('unit sequence', () => {
  it('mirrors the session: condition, (blocks × n, sample) per scale, decode', () => {
    const plan = { conditionUnits: 1, blocksUnits: 2, scales: 3 };
    expect(planLength(plan)).toBe(1 + 3 * 3 + 1);
    const seq = Array.from({ length: planLength(plan) }, (_, i) => `${plannedUnit(plan, i).kind}@${plannedUnit(plan, i).scale}`);
    expect(seq).toEqual([
      'condition@-1',
      'blocks@0', 'blocks@0', 'sample@0',
      'blocks@1', 'blocks@1', 'sample@1',
      'blocks@2', 'blocks@2', 'sample@2',
      'decode@3',
    ]);
  });

  it('gives a prompt-conditioned session several conditioning units', () => {
    const plan = { conditionUnits: 4, blocksUnits: 2, scales: 2 };
    const seq = Array.from({ length: planLength(plan) }, (_, i) => `${plannedUnit(plan, i).kind}@${plannedUnit(plan, i).scale}`);
    expect(seq).toEqual([
      'condition@-1', 'condition@-1', 'condition@-1', 'condition@-1',
      'blocks@0', 'blocks@0', 'sample@0',
      'blocks@1', 'blocks@1', 'sample@1',
      'decode@2',
    ]);
  });
});

describe('cost model', () => {
  it('averages per scale, falls back to the kind, then to the prior', () => {
    const costs = createCostModel(2, 0.5);
    expect(estimateCost(costs, 1, 'blocks', 0)).toBe(2);
    observeCost(costs, 1, 'blocks', 0, 4);
    observeCost(costs, 1, 'blocks', 0, 2);
    expect(estimateCost(costs, 1, 'blocks', 0)).toBe(3);
    expect(estimateCost(costs, 1, 'blocks', 3)).toBe(3);
    observeCost(costs, 1, 'blocks', 3, 10);
    expect(estimateCost(costs, 1, 'blocks', 3)).toBe(10);
    expect(estimateCost(costs, 1, 'blocks', 2)).toBe(6.5);
    expect(estimateCost(costs, 1, 'sample', 0)).toBe(2);
    expect(estimateCost(costs, 2, 'blocks', 0)).toBe(2);
    observeCost(costs, 1, 'sample', 0, Number.NaN);
    observeCost(costs, 1, 'sample', 0, -1);
    expect(costs.samples).toBe(3);
  });
});

describe('scheduleSystem', () => {
  it('fills the budget in priority order and lets a cheaper unit of a later generation use the rest', () => {
    const { engine, eids } = fakeEngine(3);
    const [hidden, visible, selected] = eids;
    const G = engine.Generation;
    G.visible[hidden] = 0;
    G.selected[selected] = 1;
    // Model 1: condition 1 ms, blocks 3 ms, everything else 100 ms.
    observeCost(engine.costs, 1, 'condition', -1, 1);
    observeCost(engine.costs, 1, 'blocks', 0, 3);
    engine.costs.priorMs = 100;
    setBudget(engine, 10);
    scheduleSystem(engine);
    expect([...engine.order]).toEqual([selected, visible, hidden]);
    // selected: condition + 2 blocks = 7 ms (the sample would overrun); visible: condition = 8 ms;
    // its blocks would overrun; hidden: condition = 9 ms.
    expect([G.plannedSteps[selected], G.plannedSteps[visible], G.plannedSteps[hidden]]).toEqual([3, 1, 1]);
  });

  it('takes exactly one unit when nothing fits, and everything with an unlimited budget', () => {
    const { engine, eids } = fakeEngine(2);
    const G = engine.Generation;
    setBudget(engine, 0);
    scheduleSystem(engine);
    expect(eids.map((e) => G.plannedSteps[e])).toEqual([1, 0]);
    setBudget(engine, Infinity);
    scheduleSystem(engine);
    expect(eids.map((e) => G.plannedSteps[e])).toEqual([UNITS, UNITS]);
    // Visible generations also plan one preview (for all the scales finished in the frame).
    expect(eids.map((e) => G.plannedPreview[e])).toEqual([1, 1]);
  });

  it('never plans more than one unit past the budget', () => {
    const { engine, eids } = fakeEngine(2);
    engine.costs.priorMs = 0.7;
    for (const budget of [0.5, 1, 2.2, 5, 9.9]) {
      setBudget(engine, budget);
      scheduleSystem(engine);
      const planned = eids.reduce((n, e) => n + engine.Generation.plannedSteps[e] + engine.Generation.plannedPreview[e], 0);
      expect(planned, `budget ${budget}`).toBe(Math.max(1, Math.floor(budget / 0.7 + 1e-9)));
    }
  });

  it('rejects a negative budget', () => {
    const { engine } = fakeEngine(0);
    expect(() => setBudget(engine, -1)).toThrow(/budget must be a number of milliseconds >= 0.*found -1/);
    expect(() => setBudget(engine, Number.NaN)).toThrow(/found NaN/);
  });
});
