import fc from 'fast-check';
import { EQUIPMENT_VALUES } from './equipment-rules';
import { classifyStored, MAX_CACHED_SHAPES, MAX_CACHED_TEXT, OutcomeCache, StoredEquipment } from './outcome-cache';

/** Stored JSON text as the database renders jsonb, biased towards the legacy shapes that repeat. */
const legacyEquipment = fc.oneof(
  fc.constantFrom(...EQUIPMENT_VALUES.map((v) => JSON.stringify(v))),
  fc.subarray([...EQUIPMENT_VALUES, 'Full Gym', 'trampoline', ''], { minLength: 0 }).map((a) => JSON.stringify(a)),
  fc.constantFrom('null', '"full_gym, no_equipment"', '{"full_gym": true}', '"[\\"full_gym\\","', '42', '1e400'),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
);
const storedItems = fc.oneof(
  fc.constantFrom('[]', 'null', '["dumbbells"]', '["", "bands"]', '"abc"'),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
);
/** Rows drawn from a few shapes, so that shapes repeat with and without the flag, and SQL NULL beside JSON null. */
const rowsOfFewShapes: fc.Arbitrary<StoredEquipment[]> = fc
  .tuple(
    fc.array(fc.option(legacyEquipment, { nil: null }), { minLength: 1, maxLength: 4 }),
    fc.array(fc.option(storedItems, { nil: null }), { minLength: 1, maxLength: 3 }),
  )
  .chain(([equipment, items]) =>
    fc.array(
      fc.record({
        equipmentJson: fc.constantFrom(...equipment, '"basic_equipment"'),
        itemsJson: fc.constantFrom(...items),
        reassessmentRequired: fc.boolean(),
      }),
      { minLength: 1, maxLength: 60 },
    ),
  );

describe('OutcomeCache', () => {
  it('gives every row the outcome the rules give it, whatever shapes came before', () => {
    fc.assert(
      fc.property(rowsOfFewShapes, (rows) => {
        const cache = new OutcomeCache();
        for (const row of rows) expect(cache.classify({ ...row })).toEqual(classifyStored(row));
      }),
    );
  });

  it('classifies a repeated shape once and shares its frozen outcome', () => {
    const cache = new OutcomeCache();
    const row = { equipmentJson: '["full_gym", "basic_equipment"]', itemsJson: '[]', reassessmentRequired: false };
    const first = cache.classify(row);
    expect(cache.classify({ ...row })).toBe(first);
    expect(cache.classify({ ...row, reassessmentRequired: true })).not.toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(first).toMatchObject({ status: 'migrated', newEquipment: 'full_gym', write: { items: 'clear' } });
    expect(Object.isFrozen((first as { write: object }).write)).toBe(true);
  });

  it('does not remember long values, and stays bounded however many shapes it sees', () => {
    const cache = new OutcomeCache();
    const long = JSON.stringify(['full_gym', 'x'.repeat(MAX_CACHED_TEXT)]);
    expect(cache.classify({ equipmentJson: long, itemsJson: '[]', reassessmentRequired: false })).toEqual({
      status: 'error',
      reason: expect.stringContaining('unknown equipment value'),
    });
    expect(cache.size).toBe(0);
    for (let i = 0; i < MAX_CACHED_SHAPES + 10; i++) {
      cache.classify({ equipmentJson: '"basic_equipment"', itemsJson: JSON.stringify([`item ${i}`]), reassessmentRequired: false });
    }
    expect(cache.size).toBeLessThanOrEqual(MAX_CACHED_SHAPES);
    expect(cache.size).toBeGreaterThan(0);
  });
});
