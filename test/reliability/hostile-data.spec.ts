import { join } from 'node:path';
import fc from 'fast-check';
import { SAMPLE_SHAPES } from '../../src/demo/sample-assessments';
import { EquipmentRules } from '../../src/equipment-migration/equipment-rules';
import type { ReportDetail } from '../../src/equipment-migration/report.types';
import { insertSamples, truncateAll } from '../helpers/fixtures';
import {
  ArbitraryRow,
  byId,
  CANONICAL_JSON,
  countsOf,
  DbRow,
  errorLines,
  identity,
  insertArbitraryRows,
  otherColumns,
  parseJsonText,
  readReport,
  readRows,
  reportSchemaErrors,
  samplesOf,
  Status,
} from '../helpers/migration-checks';
import { printedCounts } from '../helpers/printed-counts';
import { useTestSuite } from '../helpers/suite';

/**
 * Hostile data: whatever JSON is stored in `equipment` (or SQL NULL) and `equipment_items`, with whatever flag, a real
 * run completes, decides exactly one outcome per row, leaves error rows byte-identical and every other column
 * untouched, ends every other row canonical, and writes a report that validates against report.schema.json.
 */

// ---------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------

const SQL_NULL = Symbol('SQL NULL');
const CANONICAL = ['full_gym', 'basic_equipment', 'no_equipment'];
const LEGACY_SPELLINGS = [
  'Full Gym', 'full-gym', ' FULL_GYM ', 'fuLL-GyM', 'No Equipment', 'no-equipment', 'NO EQUIPMENT', 'Basic Equipment',
  'basic-equipment', 'BASIC_EQUIPMENT ', 'full  gym', 'full__gym', 'fullgym', 'gym', 'none', 'trampoline', '', ' ', '\t',
  'null', 'true', '[]', '{}', 'ｆｕｌｌ＿ｇｙｍ', 'İ', 'ß', 'full_gym\n', '"full_gym"',
];
const SEPARATORS = [',', ';', '|', ', ', ' ; ', ' | ', '||', ',,', ';|', ' ', '/'];

/** Strings PostgreSQL's jsonb cannot store: NUL, and lone surrogates (JSON.stringify escapes them as \udXXX). */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
function storable(value: unknown): boolean {
  if (typeof value === 'string') return !UNSTORABLE.test(value);
  if (Array.isArray(value)) return value.every(storable);
  if (value !== null && typeof value === 'object') return Object.entries(value).every(([k, v]) => !UNSTORABLE.test(k) && storable(v));
  return true;
}

/** Legacy spellings that do resolve (trim, lower-case, ' ' and '-' become '_'). */
const RESOLVING_SPELLINGS = ['Full Gym', 'full-gym', ' FULL_GYM ', 'fuLL-GyM', 'No Equipment', 'no-equipment', 'NO EQUIPMENT', 'Basic Equipment', 'basic-equipment', 'BASIC_EQUIPMENT ', 'full_gym\n'];
const resolvingToken = fc.constantFrom(...CANONICAL, ...RESOLVING_SPELLINGS);
const token = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...CANONICAL, ...LEGACY_SPELLINGS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
);
/** "full_gym; Basic Equipment|no-equipment" and worse. */
const separatedList = fc
  .array(fc.tuple(token, fc.constantFrom(...SEPARATORS)), { minLength: 1, maxLength: 6 })
  .map((parts) => parts.map(([t, s], i) => (i === parts.length - 1 ? t : t + s)).join(''));
/** Shapes that migrate or get flagged: arrays, lists and checkbox objects of resolving spellings. */
const resolvingArray = fc.array(resolvingToken, { minLength: 1, maxLength: 4 });
const resolvingList = fc
  .array(fc.tuple(resolvingToken, fc.constantFrom(',', ';', '|', ' , ', '| ')), { minLength: 1, maxLength: 4 })
  .map((parts) => parts.map(([t, s], i) => (i === parts.length - 1 ? t : t + s)).join(''));
const resolvingCheckbox = fc
  .tuple(fc.dictionary(resolvingToken, fc.boolean(), { maxKeys: 3 }), resolvingToken)
  .map(([object, checked]) => ({ ...object, [checked]: true }));
const tokenArray = fc.array(
  fc.oneof({ weight: 8, arbitrary: token }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2, stringUnit: 'binary' }) }),
  { maxLength: 8 },
);
/** JSON array text inside a string: whole, cut anywhere (malformed), or padded. */
const arrayText = fc.oneof(tokenArray, resolvingArray).chain((array) => {
  const text = JSON.stringify(array);
  return fc.oneof(fc.constant(text), fc.nat(text.length).map((n) => text.slice(0, n)), fc.constant(` ${text} `));
});
const checkboxObject = fc.dictionary(
  token,
  fc.oneof({ weight: 6, arbitrary: fc.boolean() }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }),
  { maxKeys: 4 },
);
/** A token or token array buried hundreds of arrays or objects deep. */
const deeplyNested = fc.tuple(fc.integer({ min: 1, max: 1000 }), fc.oneof(token, tokenArray), fc.boolean()).map(([depth, inner, asObject]) => {
  let value: unknown = inner;
  for (let i = 0; i < depth; i += 1) value = asObject ? { full_gym: value } : [value];
  return value;
});
/** Thousands of members, all canonical or one odd one somewhere. */
const hugeArray = fc
  .tuple(fc.integer({ min: 500, max: 5000 }), fc.constantFrom(...CANONICAL, 'Full Gym', 'trampoline', ''), fc.nat())
  .map(([length, odd, seed]) => Array.from({ length }, (_, i) => (i === seed % length ? odd : CANONICAL[(i + seed) % 3])));
const longString = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 500, maxLength: 5000 }),
  fc.tuple(fc.constantFrom(...CANONICAL, 'Full Gym'), fc.integer({ min: 100, max: 3000 }), fc.constantFrom(...SEPARATORS)).map(([t, n, s]) =>
    Array(n).fill(t).join(s),
  ),
);

const equipment = fc
  .oneof(
    { weight: 1, arbitrary: fc.constant<typeof SQL_NULL>(SQL_NULL) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 8 }) },
    { weight: 3, arbitrary: fc.constantFrom(...CANONICAL) },
    { weight: 2, arbitrary: token },
    { weight: 4, arbitrary: resolvingArray },
    { weight: 2, arbitrary: resolvingList },
    { weight: 1, arbitrary: resolvingCheckbox },
    { weight: 2, arbitrary: separatedList },
    { weight: 2, arbitrary: tokenArray },
    { weight: 2, arbitrary: arrayText },
    { weight: 1, arbitrary: checkboxObject },
    { weight: 1, arbitrary: deeplyNested },
    { weight: 1, arbitrary: hugeArray },
    { weight: 1, arbitrary: longString },
  )
  .filter(storable);

const items = fc
  .oneof(
    { weight: 3, arbitrary: fc.constant([]) },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 4, arbitrary: fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), { minLength: 1, maxLength: 5 }) },
    { weight: 1, arbitrary: fc.array(fc.oneof(fc.constant(''), fc.constant(' '), fc.string()), { maxLength: 4 }) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }) },
    { weight: 1, arbitrary: fc.array(fc.string({ maxLength: 8 }), { minLength: 100, maxLength: 2000 }) },
  )
  .filter(storable);

const row = fc.record({
  equipment,
  items,
  flag: fc.boolean(),
  sport: fc.option(fc.string({ unit: 'grapheme-ascii', maxLength: 64 })),
  age: fc.option(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
  experience: fc.option(fc.string({ unit: 'grapheme-ascii', maxLength: 32 })),
});

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/** What the rules say about a row as stored: the oracle for the run's outcome (SQL pre-filter included). */
function expectedStatus(was: DbRow): Status {
  return EquipmentRules.classify({
    equipment: parseJsonText(was.equipment),
    equipmentItems: parseJsonText(was.items),
    reassessmentRequired: was.flag,
  }).status;
}

const isItemList = (value: unknown) => Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v.length > 0);
const isNoItems = (value: unknown) => value === null || (Array.isArray(value) && value.length === 0);

/** Every invariant of a completed run over `before`: outcomes, rows after it, the report. */
function expectSoundRun(
  before: DbRow[],
  after: DbRow[],
  result: { exitCode: number; stdout: string[]; stderr: string[] },
  report: ReturnType<typeof readReport>,
): void {
  expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: [] });
  expect(reportSchemaErrors(report)).toEqual([]);
  const counts = printedCounts(result.stdout);
  expect(report.summary).toEqual(counts);
  expect(counts.total_processed).toBe(before.length);
  expect(counts.migrated + counts.flagged + counts.skipped + counts.errors).toBe(before.length);

  const details = new Map<number, ReportDetail>();
  for (const detail of report.details) {
    expect(details.has(detail.assessment_id)).toBe(false);
    details.set(detail.assessment_id, detail);
  }
  const count = (status: Status) => report.details.filter((d) => d.status === status).length;
  expect({ migrated: count('migrated'), flagged: count('flagged'), errors: count('error') }).toEqual({
    migrated: counts.migrated,
    flagged: counts.flagged,
    errors: counts.errors,
  });

  expect(after.map((r) => r.id)).toEqual(before.map((r) => r.id));
  const afterById = byId(after);
  for (const was of before) {
    const now = afterById.get(was.id)!;
    const detail = details.get(was.id);
    const status: Status = detail?.status ?? 'skipped';
    const context = `assessment ${was.id}: equipment ${(was.equipment ?? 'SQL NULL').slice(0, 200)}, items ${was.items.slice(0, 200)}, flag ${was.flag}`;
    expect({ context, status }).toEqual({ context, status: expectedStatus(was) });
    expect({ context, ...otherColumns(now) }).toEqual({ context, ...otherColumns(was) });

    if (status === 'error' || status === 'skipped') {
      expect({ context, ...identity(now) }).toEqual({ context, ...identity(was) });
    }
    if (status !== 'error') {
      // Canonical: one JSON string of the three, and a basic_equipment row has items or the flag.
      expect({ context, type: now.equipment_type, canonical: CANONICAL_JSON.includes(now.equipment ?? '') }).toEqual({
        context,
        type: 'string',
        canonical: true,
      });
      if (now.equipment === '"basic_equipment"') {
        const nowItems = parseJsonText(now.items);
        expect({ context, settled: isItemList(nowItems) || (isNoItems(nowItems) && now.flag) }).toEqual({ context, settled: true });
      }
    }
    if (detail) {
      expect({ context, user_id: detail.user_id, user_email: detail.user_email }).toEqual({ context, user_id: was.user_id, user_email: was.email });
      // The stored value, exactly (compared as JSON text: values may nest a thousand levels deep); one nested deeper
      // than the report's limit is embedded as its JSON text, with a flag.
      const asText = (detail as { original_equipment_as_text?: boolean }).original_equipment_as_text === true;
      expect({ context, original: asText ? JSON.stringify(JSON.parse(detail.original_equipment as string)) : JSON.stringify(detail.original_equipment) }).toEqual({
        context,
        original: JSON.stringify(parseJsonText(was.equipment)),
      });
    }
    if (status === 'migrated') {
      expect({ context, equipment: now.equipment, flag: now.flag, items: now.items }).toEqual({
        context,
        equipment: JSON.stringify(detail!.new_equipment),
        flag: was.flag,
        items: detail!.items_cleared ? '[]' : was.items,
      });
    }
    if (status === 'flagged') {
      expect({ context, equipment: now.equipment, flag: now.flag, items: now.items }).toEqual({
        context,
        equipment: '"basic_equipment"',
        flag: true,
        items: was.items === 'null' ? '[]' : was.items,
      });
    }
  }
  // Error lines quote offending values capped: a stored megabyte never floods the console.
  for (const line of errorLines(result.stdout)) expect(line.length).toBeLessThan(400);
}

describe('hostile data (real PostgreSQL, property-based)', () => {
  const suite = useTestSuite({ folder: 'hostile-data-' });
  const { db } = suite;
  let runs = 0;

  const migrate = async (...args: string[]) => {
    const reportPath = join(suite.folder, `report-${(runs += 1)}.json`);
    const result = await suite.migrate(['--save-report', reportPath, ...args]);
    return { result, report: result.exitCode === 0 ? readReport(reportPath) : undefined };
  };

  it('arbitrary JSON, SQL NULL, flags and columns: the run completes and every invariant holds', async () => {
    const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 60, size: 'max' }), fc.constantFrom('3', '17', '5000'), async (generated, batchSize) => {
        await truncateAll(db.dataSource);
        const rows: ArbitraryRow[] = generated.map((g, i) => ({
          email: `hostile.${i}@example.com`,
          sport: g.sport,
          age: g.age,
          experience: g.experience,
          equipmentJson: g.equipment === SQL_NULL ? null : JSON.stringify(g.equipment),
          itemsJson: JSON.stringify(g.items),
          flag: g.flag,
        }));
        await insertArbitraryRows(db.dataSource, rows);
        const before = await readRows(db.dataSource);
        expect(before).toHaveLength(rows.length);

        const { result, report } = await migrate('--batch-size', batchSize);

        expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: [] });
        expectSoundRun(before, await readRows(db.dataSource), result, report!);
        // Each written row's audit row holds, exactly, what the row held before (the values read, sent with the write).
        const recorded: { id: number; user_id: number; equipment: string | null; items: string | null; flag: boolean }[] = await db.dataSource.query(
          `SELECT assessment_id AS id, user_id, previous_equipment::text AS equipment, previous_items::text AS items, previous_reassessment_required AS flag
             FROM equipment_migration_changes WHERE run_id = $1 ORDER BY assessment_id`,
          [report!.run.id],
        );
        expect(recorded).toHaveLength(report!.summary.migrated + report!.summary.flagged);
        const original = new Map(before.map((r) => [r.id, r]));
        for (const r of recorded) {
          const o = original.get(r.id)!;
          expect(r).toEqual({ id: o.id, user_id: o.user_id, equipment: o.equipment, items: o.items, flag: o.flag });
        }
      }),
      { numRuns: 40, endOnFailure: true, seed },
    );
  }, 120000);

  it('a 1 MB equipment value among normal rows: no crash; it is an error or migrates; the others migrate; valid report', async () => {
    await truncateAll(db.dataSource);
    const normal = samplesOf(SAMPLE_SHAPES, 'normal');
    await insertSamples(db.dataSource, normal.slice(0, 16));
    // ~1.2 MB arrays of canonical names (one with an unknown value at the very end), a 1 MB string, 1 MB of items.
    const bigValid = Array.from({ length: 70000 }, (_, i) => CANONICAL[(i + 1) % 3]);
    const bigUnknownLast = [...bigValid.slice(0, 69999), 'trampoline'];
    const big: ArbitraryRow[] = [
      { equipmentJson: JSON.stringify(bigValid), itemsJson: '["dumbbells"]' },
      { equipmentJson: JSON.stringify('x'.repeat(1 << 20)), itemsJson: '[]' },
      { equipmentJson: JSON.stringify(bigUnknownLast), itemsJson: '[]' },
      {
        equipmentJson: JSON.stringify(['basic_equipment', 'no_equipment']),
        itemsJson: JSON.stringify(Array.from({ length: 60000 }, (_, i) => `item number ${i}`)),
      },
    ].map((r, i) => ({ ...r, email: `big.${i}@example.com`, sport: 'running', age: 30, experience: 'advanced', flag: false }));
    await insertArbitraryRows(db.dataSource, big);
    await insertSamples(db.dataSource, normal.slice(16));
    const before = await readRows(db.dataSource);
    const sizes = await db.dataSource.query(`SELECT max(octet_length(equipment::text))::int AS equipment, max(octet_length(equipment_items::text))::int AS items FROM assessments`);
    expect(sizes[0].equipment).toBeGreaterThanOrEqual(1 << 20);
    expect(sizes[0].items).toBeGreaterThanOrEqual(1 << 20);

    const { result, report } = await migrate('--batch-size', '7');

    const after = await readRows(db.dataSource);
    expectSoundRun(before, after, result, report!);
    const expected = countsOf(SAMPLE_SHAPES);
    expect(report!.summary).toEqual({
      ...expected,
      total_processed: expected.total_processed + 4,
      migrated: expected.migrated + 2,
      errors: expected.errors + 2,
    });
    const byEmail = new Map(after.map((r) => [r.email, r]));
    const statusOf = (email: string) => report!.details.find((d) => d.assessment_id === byEmail.get(email)!.id)?.status ?? 'skipped';
    expect(big.map((r) => statusOf(r.email))).toEqual(['migrated', 'error', 'error', 'migrated']);
    expect({ equipment: byEmail.get('big.0@example.com')!.equipment, items: byEmail.get('big.0@example.com')!.items }).toEqual({
      equipment: '"full_gym"',
      items: '[]',
    });
    expect(byEmail.get('big.3@example.com')!.equipment).toBe('"basic_equipment"');
    expect(byEmail.get('big.3@example.com')!.items).toBe(before.find((r) => r.email === 'big.3@example.com')!.items);
    const reasons = report!.details.filter((d) => d.status === 'error' && d.user_email?.startsWith('big.')).map((d) => d.reason);
    // The megabyte is quoted capped, not in full.
    expect(reasons).toEqual([expect.stringMatching(/^unknown equipment value "x{40,100}…$/), 'unknown equipment value "trampoline"']);
    for (const sample of normal) {
      expect({ email: sample.email, status: statusOf(sample.email) }).toEqual({
        email: sample.email,
        status: { valid: 'skipped', migrate: 'migrated', flag: 'flagged', error: 'error' }[sample.category],
      });
    }
  }, 60000);
});
