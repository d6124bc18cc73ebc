import fc from 'fast-check';
import { QueryRunner } from 'typeorm';
import { assessmentColumns } from '../../src/database/assessment-columns';
import { canonicalAndConsistent } from '../../src/equipment-migration/skip-predicate';
import { EquipmentRules, EQUIPMENT_VALUES } from '../../src/equipment-migration/equipment-rules';
import { useTestSuite } from '../helpers/suite';

/**
 * The SQL skip predicate (rows the migration never sends to Node) must select exactly the rows that
 * EquipmentRules.classify() calls skipped. Checked on arbitrary JSON as PostgreSQL stores it.
 */

interface GeneratedRow {
  /** JSON text, or null for SQL NULL. */
  equipment: string | null;
  /** JSON text; null (SQL NULL) only where the column was made nullable (a drifted schema). */
  items: string | null;
  flag: boolean;
}

interface StoredRow {
  id: number;
  equipment: string | null;
  items: string | null;
  flag: boolean;
  skip: boolean;
}

/** jsonb rejects \u0000, and JSON.stringify escapes lone surrogates (\udxxx), which jsonb rejects too. */
const STORABLE = (json: string) => !/\\u(0000|d[89a-f][0-9a-f]{2})/i.test(json);

const json = (value: unknown) => JSON.stringify(value);

const canonical = fc.constantFrom(...EQUIPMENT_VALUES);
const nearCanonical = fc.constantFrom(
  'Full Gym',
  'full-gym',
  ' full_gym',
  'full_gym ',
  'BASIC_EQUIPMENT',
  'basic equipment',
  'no_equipment,full_gym',
  'basic_equipment;',
  '["basic_equipment"]',
  'invalid_value',
  '',
  ' ',
  'basic_equipment\n',
);
const token = fc.oneof(canonical, nearCanonical, fc.string({ maxLength: 12 }));

/** Equipment values: mostly shapes near the rules' boundaries, plus anything JSON can hold. */
const equipmentValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: canonical },
  { weight: 2, arbitrary: nearCanonical },
  { weight: 2, arbitrary: fc.array(token, { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.dictionary(token, fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 1 })), { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2, stringUnit: 'binary' }) },
);
/** SQL NULL (undefined here) or a JSON text. */
const equipmentText: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 12, arbitrary: equipmentValue.map(json) },
);

const itemValue = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('dumbbells', 'kettlebell', ' ', 'a') },
  { weight: 2, arbitrary: fc.constant('') },
  { weight: 3, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
);
const itemsText: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 3, arbitrary: fc.array(itemValue, { maxLength: 4 }) },
    { weight: 2, arbitrary: fc.constant([]) },
    { weight: 2, arbitrary: fc.constant(null) },
    { weight: 2, arbitrary: fc.array(fc.string({ minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 3 }) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  )
  .map(json);

const generatedRow: fc.Arbitrary<GeneratedRow> = fc
  .record({ equipment: equipmentText, items: itemsText, flag: fc.boolean() })
  .filter((row) => STORABLE(row.items) && (row.equipment === null || STORABLE(row.equipment)));


describe('SQL skip predicate agrees with EquipmentRules.classify (real PostgreSQL)', () => {
  let queryRunner: QueryRunner;
  const { db } = useTestSuite({ teardown: () => queryRunner?.release() });
  let predicate: string;
  let userId: number;

  beforeAll(async () => {
    queryRunner = db.dataSource.createQueryRunner();
    await queryRunner.connect();
    predicate = canonicalAndConsistent(assessmentColumns(queryRunner.connection), 'a');
    const [user] = await queryRunner.query(`INSERT INTO users (email) VALUES ('predicate@example.com') RETURNING id`);
    userId = user.id;
  });

  /** Replaces the table's rows with `rows` and reads back what PostgreSQL stored, with the predicate's verdict. */
  async function storeAndEvaluate(rows: GeneratedRow[]): Promise<StoredRow[]> {
    await queryRunner.query('DELETE FROM assessments');
    await queryRunner.query(
      `INSERT INTO assessments (user_id, equipment, equipment_items, equipment_reassessment_required)
       SELECT $1, s.equipment::jsonb, s.items::jsonb, s.flag
         FROM unnest($2::text[], $3::text[], $4::bool[]) WITH ORDINALITY AS s(equipment, items, flag, n)
        ORDER BY s.n`,
      [userId, rows.map((r) => r.equipment), rows.map((r) => r.items), rows.map((r) => r.flag)],
    );
    return queryRunner.query(
      `SELECT a.id, a.equipment::text AS equipment, a.equipment_items::text AS items,
              a.equipment_reassessment_required AS flag, ${predicate} AS skip
         FROM assessments a ORDER BY a.id`,
    );
  }

  /** Rows where SQL and the rules disagree (empty when they agree), classified from the values read back. */
  function disagreements(stored: StoredRow[]) {
    return stored
      .map((row) => {
        const outcome = EquipmentRules.classify({
          equipment: row.equipment === null ? null : JSON.parse(row.equipment),
          equipmentItems: row.items === null ? null : JSON.parse(row.items),
          reassessmentRequired: row.flag,
        });
        return { equipment: row.equipment, items: row.items, flag: row.flag, sqlSkips: row.skip, rules: outcome.status };
      })
      .filter((r) => r.sqlSkips !== (r.rules === 'skipped'));
  }

  it('agrees on the sample shapes around each boundary', async () => {
    const rows: GeneratedRow[] = [];
    for (const equipment of [...EQUIPMENT_VALUES.map(json), '"Full Gym"', '["full_gym"]', 'null', null, '7', '{"full_gym":true}']) {
      for (const items of ['[]', 'null', '["dumbbells"]', '[""]', '["a",""]', '[1]', '"abc"', '{}', '[null]', '[" "]']) {
        for (const flag of [false, true]) rows.push({ equipment, items, flag });
      }
    }
    const stored = await storeAndEvaluate(rows);
    expect(stored).toHaveLength(rows.length);
    expect(disagreements(stored)).toEqual([]);
    // Both outcomes occur, so the comparison is not vacuous.
    const skipped = stored.filter((r) => r.skip).length;
    expect(skipped).toBeGreaterThan(0);
    expect(skipped).toBeLessThan(stored.length);
  });

  it('agrees on SQL NULL items (a drifted schema whose equipment_items is nullable): as JSON null', async () => {
    await queryRunner.query('ALTER TABLE assessments ALTER COLUMN equipment_items DROP NOT NULL');
    try {
      const rows: GeneratedRow[] = [];
      for (const equipment of [...EQUIPMENT_VALUES.map(json), '["basic_equipment"]', null]) {
        for (const flag of [false, true]) rows.push({ equipment, items: null, flag });
      }
      const stored = await storeAndEvaluate(rows);
      expect(stored.filter((r) => r.items === null)).toHaveLength(rows.length);
      expect(disagreements(stored)).toEqual([]);
      expect(stored.filter((r) => r.skip).map((r) => [r.equipment, r.flag])).toEqual([
        ['"full_gym"', false],
        ['"full_gym"', true],
        ['"basic_equipment"', true],
        ['"no_equipment"', false],
        ['"no_equipment"', true],
      ]);
    } finally {
      await queryRunner.query('DELETE FROM assessments');
      await queryRunner.query('ALTER TABLE assessments ALTER COLUMN equipment_items SET NOT NULL');
    }
  });

  it('agrees on arbitrary rows (fast-check, 150 runs of up to 40 rows each)', async () => {
    let skippedSeen = 0;
    let notSkippedSeen = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(generatedRow, { minLength: 1, maxLength: 40 }), async (rows) => {
        const stored = await storeAndEvaluate(rows);
        expect(stored).toHaveLength(rows.length);
        expect(disagreements(stored)).toEqual([]);
        skippedSeen += stored.filter((r) => r.skip).length;
        notSkippedSeen += stored.filter((r) => !r.skip).length;
      }),
      { numRuns: 150 },
    );
    expect(skippedSeen).toBeGreaterThan(0);
    expect(notSkippedSeen).toBeGreaterThan(0);
  });

  it('agrees on one big batch of 2000 arbitrary rows', async () => {
    const rows = fc.sample(generatedRow, { numRuns: 2000, seed: 19_10 });
    const stored = await storeAndEvaluate(rows);
    expect(stored).toHaveLength(2000);
    expect(disagreements(stored)).toEqual([]);
    expect(stored.filter((r) => r.skip).length).toBeGreaterThan(100);
  });
});
