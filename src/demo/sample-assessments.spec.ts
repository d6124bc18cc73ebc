import { EquipmentRules } from '../equipment-migration/equipment-rules';
import { expectedOutcomes, generateSampleAssessments, mixCounts, REALISTIC_MIX, SAMPLE_SHAPES } from './sample-assessments';

const STATUS = { valid: 'skipped', migrate: 'migrated', flag: 'flagged', error: 'error' } as const;

describe('sample assessments', () => {
  it('every shape has the outcome its category promises', () => {
    for (const shape of SAMPLE_SHAPES) {
      const outcome = EquipmentRules.classify({
        equipment: shape.equipmentJson === null ? null : JSON.parse(shape.equipmentJson),
        equipmentItems: JSON.parse(shape.itemsJson),
        reassessmentRequired: shape.reassessmentRequired,
      });
      expect({ shape: shape.name, status: outcome.status }).toEqual({ shape: shape.name, status: STATUS[shape.category] });
    }
  });

  it('splits rows exactly and proportionally', () => {
    const counts = mixCounts(1000, REALISTIC_MIX, false);
    expect(counts).toEqual({ valid: 750, migrate: 0, multi: 150, odd: 10, flag: 70, error: 20 });
    expect(mixCounts(150, { valid: 115, migrate: 25, flag: 10, error: 0 }, false)).toMatchObject({ valid: 115, migrate: 25, flag: 10, error: 0 });
  });

  it('covers every shape of every weighted kind when there is room', () => {
    const names = new Set([...generateSampleAssessments({ count: 150 })].map((s) => s.name));
    const expected = SAMPLE_SHAPES.map((s) => s.name);
    expect([...names].sort()).toEqual([...expected].sort());
  });

  it('is deterministic and gives distinct emails', () => {
    const a = [...generateSampleAssessments({ count: 500, seed: 3 })];
    const b = [...generateSampleAssessments({ count: 500, seed: 3 })];
    expect(a).toEqual(b);
    expect(new Set(a.map((s) => s.email)).size).toBe(500);
    expect([...generateSampleAssessments({ count: 500, seed: 4 })]).not.toEqual(a);
  });

  it('expectedOutcomes counts what the generator yields', () => {
    const outcomes = expectedOutcomes({ count: 2000, seed: 42 });
    expect(outcomes.valid + outcomes.migrate + outcomes.flag + outcomes.error).toBe(2000);
    expect(outcomes.flag).toBe(140);
    expect(outcomes.valid).toBe(1500);
  });
});
