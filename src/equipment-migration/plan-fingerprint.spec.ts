import { CandidateRow } from './assessment-migration.repository';
import { EquipmentRules } from './equipment-rules';
import { PlanFingerprint, ReviewedPlan } from './plan-fingerprint';
import type { Classified } from './report.service';

const row = (id: number, equipment: unknown, items: unknown = []): Classified => {
  const candidate: CandidateRow = {
    id,
    userId: id,
    userEmail: `${id}@example.com`,
    equipmentJson: JSON.stringify(equipment),
    itemsJson: JSON.stringify(items),
    reassessmentRequired: false,
    version: '1',
    location: '(0,1)',
  };
  return { row: candidate, outcome: EquipmentRules.classify({ equipment, equipmentItems: items, reassessmentRequired: false }) };
};

const fingerprint = (...pages: Classified[][]) => {
  const plan = new PlanFingerprint();
  for (const page of pages) plan.add(page);
  return plan.digest();
};

describe('PlanFingerprint', () => {
  const rows = [row(1, ['no_equipment', 'full_gym']), row(2, 'full_gym'), row(3, 'basic_equipment'), row(4, ['trampoline'])];

  it('does not depend on how the rows are paged', () => {
    expect(fingerprint(rows)).toBe(fingerprint(rows.slice(0, 1), rows.slice(1, 3), rows.slice(3)));
  });

  it('ignores skipped rows and counts the others', () => {
    const plan = new PlanFingerprint();
    plan.add(rows);
    expect(plan.size).toBe(3);
    expect(fingerprint(rows)).toBe(fingerprint(rows.filter((item) => item.row.id !== 2)));
  });

  it('changes when an outcome, a written value or an id changes', () => {
    const base = fingerprint(rows);
    expect(fingerprint([row(1, ['no_equipment']), ...rows.slice(1)])).not.toBe(base);
    expect(fingerprint([rows[0], rows[1], row(3, 'basic_equipment', ['mat']), rows[3]])).not.toBe(base);
    expect(fingerprint([row(5, ['no_equipment', 'full_gym']), ...rows.slice(1)])).not.toBe(base);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('ReviewedPlan.fromReport', () => {
  const fingerprint = 'a'.repeat(64);

  it.each([
    ['a null detail', [null]],
    ['a detail without an id', [{ status: 'migrated' }]],
    ['an id that is not an integer', [{ assessment_id: '7', status: 'migrated' }]],
    ['a status that is not a string', [{ assessment_id: 7, status: 1 }]],
    ['an unknown status', [{ assessment_id: 7, status: 'done' }]],
    ['a migrated detail without items_cleared', [{ assessment_id: 7, status: 'migrated', new_equipment: 'full_gym' }]],
    ['a flagged detail without original_items', [{ assessment_id: 7, status: 'flagged', new_equipment: 'basic_equipment' }]],
  ])('refuses %s (not a reviewed plan)', (_name, details) => {
    expect(ReviewedPlan.fromReport({ run: { plan_fingerprint: fingerprint }, details })).toBeUndefined();
  });

  it.each([null, 7, 'x', [], { run: null, details: [] }])('refuses a report that is not an object with a run (%p)', (report) => {
    expect(ReviewedPlan.fromReport(report)).toBeUndefined();
  });

  it('counts a row whose outcome and value are unchanged but whose items or flag write differs', () => {
    const review = ReviewedPlan.fromReport({
      run: { plan_fingerprint: fingerprint },
      details: [
        { assessment_id: 3, status: 'flagged', new_equipment: 'basic_equipment', original_items: [] },
        { assessment_id: 8, status: 'flagged', new_equipment: 'basic_equipment', original_items: null },
      ],
    })!;
    const differences = review.differences()!;
    // Row 3's items became null since the review (the flagging now clears them); row 8 is as reviewed.
    differences.add([row(3, 'basic_equipment', null), row(8, 'basic_equipment', null)]);
    expect(differences.count).toBe(1);
    expect(differences.describe()).toBe('in 1 rows (outcome or value changed, rows added or gone)');
  });

  it('says so when only what the report does not record can differ', () => {
    const review = ReviewedPlan.fromReport({
      run: { plan_fingerprint: fingerprint },
      details: [{ assessment_id: 1, status: 'migrated', new_equipment: 'full_gym', items_cleared: true }],
    })!;
    const differences = review.differences()!;
    differences.add([row(1, ['no_equipment', 'full_gym'])]);
    expect(differences.count).toBe(0);
    expect(differences.describe()).toMatch(/^only in the reassessment flag of rows it migrates/);
  });

  it('takes a well-formed report', () => {
    const plan = ReviewedPlan.fromReport({ run: { plan_fingerprint: fingerprint }, details: [{ assessment_id: 7, status: 'migrated', new_equipment: 'full_gym', items_cleared: true }] });
    expect(plan?.fingerprint).toBe(fingerprint);
    expect(plan?.differences()?.count).toBe(1);
  });
});
