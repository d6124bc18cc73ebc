import { join } from 'node:path';
import { Client } from 'pg';
import type { SampleAssessment } from '../../src/demo/sample-assessments';
import type { CandidateRow } from '../../src/equipment-migration/assessment-migration.repository';
import { insertSamples, truncateAll } from '../helpers/fixtures';
import {
  byId,
  CANONICAL_JSON,
  countsOf,
  DbRow,
  errorLines,
  identity,
  openSession,
  otherColumns,
  readReport,
  readRows,
  reportSchemaErrors,
  samplesOf,
  secondCopyOf,
  SHAPES_TWICE,
} from '../helpers/migration-checks';
import { printedCounts } from '../helpers/printed-counts';
import { useTestSuite } from '../helpers/suite';

/**
 * No lost updates: another session changes (or deletes) a candidate row and commits between the run's read of the
 * page and its write. The run must never overwrite the newer value with a result computed from the old one; it
 * decides again from what it finds now, and its report says what it actually migrated from.
 */

// Every stored shape twice (SHAPES_TWICE); the rows the test acts on are in the second copy (secondCopyOf).
/** ["no_equipment","full_gym"]: the run computes full_gym; the user picks "no_equipment" meanwhile. */
const TO_CANONICAL = secondCopyOf('array of two');
/** ["full_gym"]: the run computes full_gym; the user changes it to ["basic_equipment","no_equipment"] + ["kettlebell"]. */
const TO_OTHER_LEGACY = secondCopyOf('one-element array');
/** ["no_equipment","no_equipment"]: deleted by the other session between read and write. */
const TO_DELETE = secondCopyOf('array with duplicates');

const BATCH_SIZES = ['1', '7', '1000'];

describe('no lost updates: another session commits between a page read and its write (real PostgreSQL)', () => {
  let session: Client;
  const suite = useTestSuite({ folder: 'lost-updates-', teardown: () => session?.end() });
  const { db } = suite;
  let samples: SampleAssessment[];
  let reportCount = 0;

  beforeAll(async () => {
    session = await openSession(db.url);
  });

  /** A fresh table: ids 1..SHAPES_TWICE.length, in SHAPES_TWICE order. */
  async function reset(): Promise<{ before: DbRow[]; idOf: (index: number) => number }> {
    await truncateAll(db.dataSource);
    samples = samplesOf(SHAPES_TWICE, 'lost-updates');
    await insertSamples(db.dataSource, samples);
    const before = await readRows(db.dataSource);
    expect(before).toHaveLength(SHAPES_TWICE.length);
    const idByEmail = new Map(before.map((r) => [r.email, r.id]));
    return { before, idOf: (index) => idByEmail.get(samples[index].email)! };
  }

  /**
   * A hook that, the first time the row `id` is among a page's candidates, runs `change` on the other session (which
   * commits at once) and records the JSON text the run read for that row.
   */
  function changeOnceWhenRead(ids: number[], change: () => Promise<void>) {
    const state = { fired: 0, readAs: new Map<number, string | null>() };
    const hooks = {
      afterPageRead: async (candidates: CandidateRow[]) => {
        const seen = candidates.filter((c) => ids.includes(c.id));
        if (seen.length === 0 || state.fired > 0) return;
        // Everything to change must be on the same page (else the change of a later row would come before its read).
        expect(seen.map((c) => c.id)).toEqual(ids);
        for (const c of seen) state.readAs.set(c.id, c.equipmentJson);
        await change();
        state.fired += 1;
      },
    };
    return { hooks, state };
  }

  async function sessionRow(id: number): Promise<{ row: string; xmin: string } | undefined> {
    const { rows } = await session.query(`SELECT row_to_json(a)::text AS row, xmin::text AS xmin FROM assessments a WHERE id = $1`, [id]);
    return rows[0];
  }

  const categoryOf = (row: DbRow) => samples.find((s) => s.email === row.email)!.category;

  /** Rows other than `except` end as their category says: written ones canonical, the rest byte-identical. */
  function expectOtherRowsAsCategory(before: DbRow[], after: DbRow[], except: number[]): void {
    const beforeById = byId(before);
    for (const row of after) {
      const was = beforeById.get(row.id)!;
      expect(otherColumns(row)).toEqual(otherColumns(was));
      if (except.includes(row.id)) continue;
      const category = categoryOf(row);
      if (category === 'migrate' || category === 'flag') {
        expect({ id: row.id, canonical: CANONICAL_JSON.includes(row.equipment ?? ''), written: row.xmin !== was.xmin }).toEqual({
          id: row.id,
          canonical: true,
          written: true,
        });
      } else {
        expect(identity(row)).toEqual(identity(was));
      }
    }
  }

  const migrate = (batchSize: string, hooks: object) => {
    const reportPath = join(suite.folder, `report-${(reportCount += 1)}.json`);
    return suite.migrate(['--batch-size', batchSize, '--save-report', reportPath], { hooks }).then((result) => ({ result, reportPath }));
  };

  describe.each(BATCH_SIZES)('--batch-size %s', (batchSize) => {
    it('a row the user set to the new canonical value meanwhile is left exactly as the user wrote it, and counted as skipped', async () => {
      const { before, idOf } = await reset();
      const id = idOf(TO_CANONICAL);
      let written: { row: string; xmin: string } | undefined;
      const { hooks, state } = changeOnceWhenRead([id], async () => {
        await session.query(`UPDATE assessments SET equipment = '"no_equipment"'::jsonb, updated_at = now() WHERE id = $1`, [id]);
        written = await sessionRow(id);
      });

      const { result, reportPath } = await migrate(batchSize, hooks);

      expect(result.exitCode).toBe(0);
      expect(state.fired).toBe(1);
      // The run did read the old array (from which it computes full_gym)...
      expect(JSON.parse(state.readAs.get(id)!)).toEqual(['no_equipment', 'full_gym']);
      const after = await readRows(db.dataSource);
      const row = after.find((r) => r.id === id)!;
      // ...and yet the row is the user's, byte for byte, same row version: not overwritten with full_gym.
      expect({ row: row.row, xmin: row.xmin }).toEqual(written);
      expect(row.equipment).toBe('"no_equipment"');
      expectOtherRowsAsCategory(before, after, [id]);

      const expected = countsOf(SHAPES_TWICE);
      expected.migrated -= 1;
      expected.skipped += 1;
      expect(printedCounts(result.stdout)).toEqual(expected);
      const report = readReport(reportPath);
      expect(reportSchemaErrors(report)).toEqual([]);
      expect(report.summary).toEqual(expected);
      expect(report.details.filter((d) => d.assessment_id === id)).toEqual([]);
      expect(errorLines(result.stdout).filter((l) => l.startsWith(`Error in assessment ${id} `))).toEqual([]);
    });

    it('a row changed to another legacy value meanwhile is migrated from the NEW value, and the report shows that value', async () => {
      const { before, idOf } = await reset();
      const id = idOf(TO_OTHER_LEGACY);
      const { hooks, state } = changeOnceWhenRead([id], async () => {
        await session.query(
          `UPDATE assessments SET equipment = '["basic_equipment","no_equipment"]'::jsonb, equipment_items = '["kettlebell"]'::jsonb WHERE id = $1`,
          [id],
        );
      });

      const { result, reportPath } = await migrate(batchSize, hooks);

      expect(result.exitCode).toBe(0);
      expect(state.fired).toBe(1);
      expect(JSON.parse(state.readAs.get(id)!)).toEqual(['full_gym']);
      const after = await readRows(db.dataSource);
      const row = after.find((r) => r.id === id)!;
      // Not full_gym (the old array's result), not items cleared: basic_equipment with the user's items kept.
      expect({ equipment: row.equipment, items: row.items, flag: row.flag }).toEqual({
        equipment: '"basic_equipment"',
        items: '["kettlebell"]',
        flag: false,
      });
      expectOtherRowsAsCategory(before, after, [id]);

      const expected = countsOf(SHAPES_TWICE);
      expect(printedCounts(result.stdout)).toEqual(expected);
      const report = readReport(reportPath);
      expect(reportSchemaErrors(report)).toEqual([]);
      expect(report.summary).toEqual(expected);
      expect(report.details.filter((d) => d.assessment_id === id)).toEqual([
        {
          assessment_id: id,
          user_id: row.user_id,
          user_email: row.email,
          status: 'migrated',
          original_equipment: ['basic_equipment', 'no_equipment'],
          new_equipment: 'basic_equipment',
          items_cleared: false,
        },
      ]);
    });

    it('a row deleted meanwhile simply disappears from the run: no error, every other row migrated', async () => {
      const { before, idOf } = await reset();
      const id = idOf(TO_DELETE);
      const { hooks, state } = changeOnceWhenRead([id], async () => {
        const deleted = await session.query(`DELETE FROM assessments WHERE id = $1`, [id]);
        expect(deleted.rowCount).toBe(1);
      });

      const { result, reportPath } = await migrate(batchSize, hooks);

      expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: [] });
      expect(state.fired).toBe(1);
      const after = await readRows(db.dataSource);
      expect(after.map((r) => r.id)).toEqual(before.map((r) => r.id).filter((x) => x !== id));
      expectOtherRowsAsCategory(
        before.filter((r) => r.id !== id),
        after,
        [],
      );

      const base = countsOf(SHAPES_TWICE);
      const counts = printedCounts(result.stdout);
      expect({ migrated: counts.migrated, flagged: counts.flagged, errors: counts.errors }).toEqual({
        migrated: base.migrated - 1,
        flagged: base.flagged,
        errors: base.errors,
      });
      expect(counts.migrated + counts.flagged + counts.skipped + counts.errors).toBe(counts.total_processed);
      const report = readReport(reportPath);
      expect(reportSchemaErrors(report)).toEqual([]);
      expect(report.summary).toEqual(counts);
      expect(report.details.filter((d) => d.assessment_id === id)).toEqual([]);
      expect(report.details.filter((d) => d.status === 'error')).toHaveLength(base.errors);
      expect(errorLines(result.stdout).filter((l) => l.startsWith(`Error in assessment ${id} `))).toEqual([]);
    });
  });

  it('all three on one page (--batch-size 1000): each row decided from what the run finds now', async () => {
    const { before, idOf } = await reset();
    const canonical = idOf(TO_CANONICAL);
    const other = idOf(TO_OTHER_LEGACY);
    const deleted = idOf(TO_DELETE);
    let written: { row: string; xmin: string } | undefined;
    const { hooks, state } = changeOnceWhenRead(
      [canonical, other, deleted].sort((a, b) => a - b),
      async () => {
        await session.query('BEGIN');
        await session.query(`UPDATE assessments SET equipment = '"no_equipment"'::jsonb WHERE id = $1`, [canonical]);
        await session.query(
          `UPDATE assessments SET equipment = '["basic_equipment","no_equipment"]'::jsonb, equipment_items = '["kettlebell"]'::jsonb WHERE id = $1`,
          [other],
        );
        await session.query(`DELETE FROM assessments WHERE id = $1`, [deleted]);
        await session.query('COMMIT');
        written = await sessionRow(canonical);
      },
    );

    const { result, reportPath } = await migrate('1000', hooks);

    expect(result.exitCode).toBe(0);
    expect(state.fired).toBe(1);
    const after = await readRows(db.dataSource);
    const afterById = byId(after);
    expect(afterById.has(deleted)).toBe(false);
    expect({ row: afterById.get(canonical)!.row, xmin: afterById.get(canonical)!.xmin }).toEqual(written);
    expect({ equipment: afterById.get(other)!.equipment, items: afterById.get(other)!.items }).toEqual({
      equipment: '"basic_equipment"',
      items: '["kettlebell"]',
    });
    expectOtherRowsAsCategory(
      before.filter((r) => r.id !== deleted),
      after,
      [canonical, other],
    );
    const base = countsOf(SHAPES_TWICE);
    const counts = printedCounts(result.stdout);
    expect({ migrated: counts.migrated, flagged: counts.flagged, errors: counts.errors }).toEqual({
      migrated: base.migrated - 2,
      flagged: base.flagged,
      errors: base.errors,
    });
    expect(counts.migrated + counts.flagged + counts.skipped + counts.errors).toBe(counts.total_processed);
    const report = readReport(reportPath);
    expect(reportSchemaErrors(report)).toEqual([]);
    const detailOf = (id: number) => report.details.filter((d) => d.assessment_id === id);
    expect(detailOf(canonical)).toEqual([]);
    expect(detailOf(deleted)).toEqual([]);
    expect(detailOf(other).map((d) => [d.status, d.original_equipment, d.new_equipment, d.items_cleared])).toEqual([
      ['migrated', ['basic_equipment', 'no_equipment'], 'basic_equipment', false],
    ]);
    // Details stay in id order after the changed rows were re-read.
    const ids = report.details.map((d) => d.assessment_id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });
});
