import { join } from 'node:path';
import type { SampleAssessment } from '../../src/demo/sample-assessments';
import type { MigrationSummary } from '../../src/equipment-migration/report.types';
import { insertSamples, snapshotAssessments, truncateAll } from '../helpers/fixtures';
import {
  byId,
  CANONICAL_JSON,
  countsOf,
  DbRow,
  errorLines,
  identity,
  otherColumns,
  parseJsonText,
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
 * Database errors stay per row: when PostgreSQL refuses one row's write (a trigger raising, a CHECK constraint an
 * operator added), only that row becomes an error with the database's message; every other row is migrated, the
 * counts add up and the run exits 0, whatever the page size, in a dry run too.
 */

// Every stored shape twice (SHAPES_TWICE); the rows the test acts on are in the second copy (secondCopyOf).
/** Migrates to basic_equipment (items kept): a trigger refuses it. */
const TRIGGER_TARGET = secondCopyOf('array with basic and items');
/** ["no_equipment","full_gym"] migrates to full_gym: an operator's CHECK constraint forbids that value for this id. */
const CHECK_TARGET = secondCopyOf('array of two');

const BATCH_SIZES = ['1', '7', '1000'];

interface Refusal {
  name: string;
  /** Index into SHAPES_TWICE of the refused rows. */
  targets: number[];
  install(ids: number[]): string[];
  uninstall: string[];
  /** The database's message for the row `id`. */
  message(id: number): string;
}

const TRIGGER: Refusal = {
  name: 'a BEFORE UPDATE trigger raises for one row',
  targets: [TRIGGER_TARGET],
  install: ([id]) => [
    `CREATE FUNCTION legal_hold() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF NEW.id = ${id} THEN RAISE EXCEPTION 'assessment % is under legal hold', NEW.id; END IF;
       RETURN NEW;
     END $$`,
    `CREATE TRIGGER legal_hold BEFORE UPDATE ON assessments FOR EACH ROW EXECUTE FUNCTION legal_hold()`,
  ],
  uninstall: ['DROP TRIGGER IF EXISTS legal_hold ON assessments', 'DROP FUNCTION IF EXISTS legal_hold()'],
  message: (id) => `assessment ${id} is under legal hold`,
};

const CHECK: Refusal = {
  name: "an operator's CHECK constraint (NOT VALID) that one row's migrated value violates",
  targets: [CHECK_TARGET],
  install: ([id]) => [
    `ALTER TABLE assessments ADD CONSTRAINT operator_no_full_gym CHECK (id <> ${id} OR equipment <> '"full_gym"'::jsonb) NOT VALID`,
  ],
  uninstall: ['ALTER TABLE assessments DROP CONSTRAINT IF EXISTS operator_no_full_gym'],
  message: () => `new row for relation "assessments" violates check constraint "operator_no_full_gym"`,
};

const BOTH: Refusal = {
  name: 'the trigger and the CHECK constraint together (two refused rows, one page or several)',
  targets: [CHECK_TARGET, TRIGGER_TARGET],
  install: ([checkId, triggerId]) => [...CHECK.install([checkId]), ...TRIGGER.install([triggerId])],
  uninstall: [...CHECK.uninstall, ...TRIGGER.uninstall],
  message: (id) => (id === CHECK_TARGET + 1 ? CHECK.message(id) : TRIGGER.message(id)),
};

describe('database errors stay per row (real PostgreSQL)', () => {
  const suite = useTestSuite({ folder: 'database-errors-' });
  const { db } = suite;
  let samples: SampleAssessment[];
  let reportCount = 0;

  const migrate = async (...args: string[]) => {
    const reportPath = join(suite.folder, `report-${(reportCount += 1)}.json`);
    const result = await suite.migrate(['--save-report', reportPath, ...args]);
    return { result, report: readReport(reportPath) };
  };

  describe.each([TRIGGER, CHECK, BOTH])('$name', (refusal) => {
    let refusedIds: number[];

    beforeAll(async () => {
      await truncateAll(db.dataSource);
      samples = samplesOf(SHAPES_TWICE, 'db-errors');
      await insertSamples(db.dataSource, samples);
      // RESTART IDENTITY: ids are 1..n in SHAPES_TWICE order, so the refusal can name them before each reset.
      refusedIds = refusal.targets.map((index) => index + 1);
      const rows = await readRows(db.dataSource);
      expect(refusedIds.map((id) => rows.find((r) => r.id === id)!.email)).toEqual(refusal.targets.map((i) => samples[i].email));
      for (const sql of refusal.install(refusedIds)) await db.dataSource.query(sql);
    });

    afterAll(async () => {
      for (const sql of refusal.uninstall) await db.dataSource.query(sql);
    });

    /** The counts without any refusal, minus the refused rows (all migrate), plus as many errors. */
    const expectedCounts = (): MigrationSummary => {
      const counts = countsOf(SHAPES_TWICE);
      for (const index of refusal.targets) expect(samples[index].category).toBe('migrate');
      counts.migrated -= refusal.targets.length;
      counts.errors += refusal.targets.length;
      return counts;
    };

    const expectedLine = (row: DbRow) =>
      `Error in assessment ${row.id} (${row.email}): the database refused the write: ${refusal.message(row.id)}`;

    it.each(BATCH_SIZES)('--batch-size %s: a dry run reports the refused rows as errors and changes nothing', async (batchSize) => {
      const before = await snapshotAssessments(db.dataSource);
      const rows = await readRows(db.dataSource);
      const { result, report } = await migrate('--dry-run', '--batch-size', batchSize);
      expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: [] });
      expect(printedCounts(result.stdout)).toEqual(expectedCounts());
      expect(reportSchemaErrors(report)).toEqual([]);
      expect(report.summary).toEqual(expectedCounts());
      for (const id of refusedIds) expect(errorLines(result.stdout)).toContain(expectedLine(rows.find((r) => r.id === id)!));
      expect(await snapshotAssessments(db.dataSource)).toEqual(before);
    });

    it.each(BATCH_SIZES)('--batch-size %s: only the refused rows are errors; every other row is migrated; exit 0', async (batchSize) => {
      await truncateAll(db.dataSource);
      await insertSamples(db.dataSource, samples);
      const before = await readRows(db.dataSource);

      const { result, report } = await migrate('--batch-size', batchSize);

      expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: [] });
      expect(result.stdout).toContain('Migration completed successfully!');
      const expected = expectedCounts();
      expect(printedCounts(result.stdout)).toEqual(expected);
      expect(expected.migrated + expected.flagged + expected.skipped + expected.errors).toBe(expected.total_processed);
      expect(reportSchemaErrors(report)).toEqual([]);
      expect(report.summary).toEqual(expected);

      const after = await readRows(db.dataSource);
      const beforeById = byId(before);
      expect(after.map((r) => r.id)).toEqual(before.map((r) => r.id));
      for (const row of after) {
        const was = beforeById.get(row.id)!;
        expect(otherColumns(row)).toEqual(otherColumns(was));
        const category = samples.find((s) => s.email === row.email)!.category;
        if (refusedIds.includes(row.id) || category === 'error' || category === 'valid') {
          // Refused rows are left exactly as they were (the savepoint undid their attempted write).
          expect(identity(row)).toEqual(identity(was));
        } else {
          expect({ id: row.id, canonical: CANONICAL_JSON.includes(row.equipment ?? ''), written: row.xmin !== was.xmin }).toEqual({
            id: row.id,
            canonical: true,
            written: true,
          });
        }
      }

      // stdout lists each refused row with the database's own message; the report has the same reason.
      const lines = errorLines(result.stdout);
      for (const id of refusedIds) {
        const was = beforeById.get(id)!;
        expect(lines).toContain(expectedLine(was));
        expect(report.details.filter((d) => d.assessment_id === id)).toEqual([
          {
            assessment_id: id,
            user_id: was.user_id,
            user_email: was.email,
            status: 'error',
            reason: `the database refused the write: ${refusal.message(id)}`,
            original_equipment: parseJsonText(was.equipment),
            original_items: parseJsonText(was.items),
          },
        ]);
      }
      // No other row was blamed for the refusal.
      const refusedReasons = report.details.filter((d) => d.reason?.startsWith('the database refused the write'));
      expect(refusedReasons.map((d) => d.assessment_id).sort((a, b) => a - b)).toEqual([...refusedIds].sort((a, b) => a - b));
      expect(report.details.filter((d) => d.status === 'migrated')).toHaveLength(expected.migrated);
    });
  });
});
