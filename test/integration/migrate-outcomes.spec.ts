import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  REALISTIC_MIX,
  SAMPLE_SHAPES,
  SampleAssessment,
  SampleCategory,
  SampleShape,
} from '../../src/demo/sample-assessments';
import type { MigrationReport, MigrationSummary, ReportDetail } from '../../src/equipment-migration/report.types';
import { CommandResult } from '../helpers/cli-harness';
import { insertSamples, seedMix, snapshotAssessments, truncateAll } from '../helpers/fixtures';
import {
  byId,
  CANONICAL_JSON,
  DbRow,
  errorLines,
  outcomesOf,
  parseJsonText,
  readReport,
  readRows,
  reportSchemaErrors,
  samplesOf,
  shapesOf,
  Status,
  STATUS_OF,
} from '../helpers/migration-checks';
import { printedCounts } from '../helpers/printed-counts';
import { useTestSuite } from '../helpers/suite';

/**
 * Outcomes of `migrate-equipment` on every stored shape, against a real PostgreSQL: what each row becomes, what the
 * report says about it, and what must stay untouched (dry runs, error rows, aborted runs, unwritable report paths).
 */

const shapeNamed = (name: string) => {
  const found = SAMPLE_SHAPES.find((s) => s.name === name);
  if (!found) throw new Error(`no sample shape named ${name}`);
  return found;
};

function expectValidReport(report: unknown): void {
  expect(reportSchemaErrors(report)).toEqual([]);
}

/** Every detail agrees with the rows before and after the run (after = before for a dry run). */
function expectDetailsAgreeWithDatabase(report: MigrationReport, before: DbRow[], after: DbRow[]): void {
  const beforeById = byId(before);
  const afterById = byId(after);
  const ids = report.details.map((d) => d.assessment_id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const detail of report.details) {
    const was = beforeById.get(detail.assessment_id);
    const now = afterById.get(detail.assessment_id);
    expect(was).toBeDefined();
    expect(now).toBeDefined();
    const context = `assessment ${detail.assessment_id}`;
    expect({ context, user_id: detail.user_id, user_email: detail.user_email }).toEqual({
      context,
      user_id: was!.user_id,
      user_email: was!.email,
    });
    expect({ context, original_equipment: detail.original_equipment }).toEqual({
      context,
      original_equipment: parseJsonText(was!.equipment),
    });
    if (detail.status !== 'migrated') {
      expect({ context, original_items: detail.original_items }).toEqual({ context, original_items: parseJsonText(was!.items) });
    }
    if (detail.status !== 'error' && !report.run.dry_run) {
      expect({ context, new_equipment: detail.new_equipment }).toEqual({ context, new_equipment: parseJsonText(now!.equipment) });
    }
  }
  const count = (status: Status) => report.details.filter((d) => d.status === status).length;
  expect({ migrated: count('migrated'), flagged: count('flagged'), errors: count('error') }).toEqual({
    migrated: report.summary.migrated,
    flagged: report.summary.flagged,
    errors: report.summary.errors,
  });
}

function hiddenFiles(folder: string): string[] {
  return readdirSync(folder).filter((name) => name.startsWith('.'));
}



describe('migrate-equipment outcomes (real PostgreSQL)', () => {
  const suite = useTestSuite({ folder: 'migrate-outcomes-' });
  const { db } = suite;

  const newFolder = (name: string) => {
    const folder = join(suite.folder, name);
    mkdirSync(folder);
    return folder;
  };

  const migrate = (...args: string[]): Promise<CommandResult> => suite.migrate(args);

  describe('every stored shape once: dry run, then the real run', () => {
    const samples = samplesOf(SAMPLE_SHAPES, 'shape');
    const categoryOfEmail = new Map(samples.map((s) => [s.email, s.category]));
    let folder: string;
    let dryPath: string;
    let realPath: string;
    let before: DbRow[];
    let afterDry: DbRow[];
    let after: DbRow[];
    let dry: CommandResult;
    let real: CommandResult;

    beforeAll(async () => {
      await truncateAll(db.dataSource);
      await insertSamples(db.dataSource, samples);
      folder = newFolder('shapes');
      dryPath = join(folder, 'dry-run.json');
      realPath = join(folder, 'real-run.json');
      before = await readRows(db.dataSource);
      dry = await migrate('--dry-run', '--save-report', dryPath);
      afterDry = await readRows(db.dataSource);
      real = await migrate('--save-report', realPath);
      after = await readRows(db.dataSource);
    });

    const category = (row: DbRow) => {
      const found = categoryOfEmail.get(row.email);
      if (!found) throw new Error(`unexpected row ${row.email}`);
      return found;
    };

    it('both runs exit 0; the dry run leaves every row byte-identical and prints the counts of the real run', () => {
      expect(before).toHaveLength(SAMPLE_SHAPES.length);
      expect(dry.exitCode).toBe(0);
      expect(real.exitCode).toBe(0);
      expect(dry.stdout).toContain('DRY RUN MODE - No changes will be saved');
      expect(real.stdout).not.toContain('DRY RUN MODE - No changes will be saved');
      expect(afterDry.map((r) => ({ id: r.id, row: r.row, xmin: r.xmin }))).toEqual(
        before.map((r) => ({ id: r.id, row: r.row, xmin: r.xmin })),
      );
      const count = (c: SampleCategory) => shapesOf(c).length;
      const expected: MigrationSummary = {
        total_processed: SAMPLE_SHAPES.length,
        migrated: count('migrate'),
        flagged: count('flag'),
        skipped: count('valid'),
        errors: count('error'),
      };
      expect(printedCounts(real.stdout)).toEqual(expected);
      expect(printedCounts(dry.stdout)).toEqual(expected);
    });

    it('each row ends with the outcome of its category, according to the report details', () => {
      const outcomes = outcomesOf(after.map((r) => r.id), readReport(realPath));
      const actual = after.map((r) => ({ email: r.email, shape: samples.find((s) => s.email === r.email)!.name, status: outcomes.get(r.id) }));
      const expected = after.map((r) => ({ email: r.email, shape: samples.find((s) => s.email === r.email)!.name, status: STATUS_OF[category(r)] }));
      expect(actual).toEqual(expected);
      // The dry run decided the same for every row.
      expect(readReport(dryPath).details).toEqual(readReport(realPath).details);
    });

    it('migrated and flagged rows hold a canonical JSON string; items and flag as the rules say', () => {
      const beforeById = byId(before);
      const details = new Map(readReport(realPath).details.map((d) => [d.assessment_id, d]));
      let checked = 0;
      for (const row of after) {
        const status = STATUS_OF[category(row)];
        if (status !== 'migrated' && status !== 'flagged') continue;
        checked += 1;
        const was = beforeById.get(row.id)!;
        const detail = details.get(row.id)!;
        const context = `${row.email} (${samples.find((s) => s.email === row.email)!.name})`;
        expect({ context, type: row.equipment_type, canonical: CANONICAL_JSON.includes(row.equipment ?? '') }).toEqual({
          context,
          type: 'string',
          canonical: true,
        });
        expect({ context, equipment: row.equipment }).toEqual({ context, equipment: JSON.stringify(detail.new_equipment) });
        if (status === 'flagged') {
          expect({ context, equipment: row.equipment, flag: row.flag }).toEqual({ context, equipment: '"basic_equipment"', flag: true });
          // Flagged rows keep their (empty) items; JSON null items become [].
          expect({ context, items: row.items }).toEqual({ context, items: was.items === 'null' ? '[]' : was.items });
        } else if (row.equipment === '"basic_equipment"') {
          expect({ context, items: row.items, flag: row.flag, cleared: detail.items_cleared }).toEqual({
            context,
            items: was.items,
            flag: was.flag,
            cleared: false,
          });
        } else {
          expect({ context, items: row.items, flag: row.flag, cleared: detail.items_cleared }).toEqual({
            context,
            items: '[]',
            flag: was.flag,
            cleared: true,
          });
        }
      }
      expect(checked).toBe(shapesOf('migrate').length + shapesOf('flag').length);
    });

    it('error and skipped rows are byte-identical; other columns never change; written rows have a later updated_at', () => {
      const beforeById = byId(before);
      expect(after.map((r) => r.id)).toEqual(before.map((r) => r.id));
      for (const row of after) {
        const was = beforeById.get(row.id)!;
        const status = STATUS_OF[category(row)];
        const context = `${row.email} (${status})`;
        const others = (r: DbRow) => ({ context, user_id: r.user_id, sport: r.sport, age: r.age, experience: r.experience, created_at: r.created_at });
        expect(others(row)).toEqual(others(was));
        if (status === 'error' || status === 'skipped') {
          expect({ context, row: row.row, xmin: row.xmin }).toEqual({ context, row: was.row, xmin: was.xmin });
        } else {
          expect({ context, later: BigInt(row.updated_us) > BigInt(was.updated_us) }).toEqual({ context, later: true });
        }
      }
    });

    it('both reports validate against report.schema.json, match the printed counts and agree with the database', () => {
      const dryReport = readReport(dryPath);
      const realReport = readReport(realPath);
      expectValidReport(dryReport);
      expectValidReport(realReport);
      expect(dryReport.run.dry_run).toBe(true);
      expect(realReport.run.dry_run).toBe(false);
      expect(dryReport.summary).toEqual(printedCounts(dry.stdout));
      expect(realReport.summary).toEqual(printedCounts(real.stdout));
      expect(realReport.details.length).toBe(SAMPLE_SHAPES.length - shapesOf('valid').length);
      expectDetailsAgreeWithDatabase(dryReport, before, afterDry);
      expectDetailsAgreeWithDatabase(realReport, before, after);
      expect(dry.stdout).toContain(`Report saved to: ${dryPath}`);
      expect(real.stdout).toContain(`Report saved to: ${realPath}`);
    });

    it('report files have mode 0600 and no temporary files are left in the folder', () => {
      expect(statSync(dryPath).mode & 0o777).toBe(0o600);
      expect(statSync(realPath).mode & 0o777).toBe(0o600);
      expect(hiddenFiles(folder)).toEqual([]);
      expect(readdirSync(folder).sort()).toEqual(['dry-run.json', 'real-run.json']);
    });

    it("the guide's jq query prints exactly the flagged users' emails", () => {
      const flaggedEmails = after.filter((r) => category(r) === 'flag').map((r) => r.email);
      expect(flaggedEmails).toHaveLength(shapesOf('flag').length);
      for (const path of [dryPath, realPath]) {
        const jq = spawnSync('/usr/bin/jq', ['.details[] | select(.status=="flagged") | .user_email', path], { encoding: 'utf8' });
        expect(jq.status).toBe(0);
        expect(jq.stderr).toBe('');
        expect(jq.stdout).toBe(flaggedEmails.map((e) => `${JSON.stringify(e)}\n`).join(''));
      }
    });

    it('stdout lists every error row with its id, email and reason', () => {
      const details = readReport(realPath).details.filter((d) => d.status === 'error');
      expect(details).toHaveLength(shapesOf('error').length);
      expect(errorLines(real.stdout)).toEqual(
        details.map((d) => `Error in assessment ${d.assessment_id} (${d.user_email}): ${d.reason}`),
      );
      expect(errorLines(dry.stdout)).toEqual(errorLines(real.stdout));
    });
  });

  describe('errors are isolated', () => {
    /** Error shapes whose reason must quote the offending value. */
    const ERROR_CASES: { shape: string; offending: string }[] = [
      { shape: 'unknown single value', offending: '"invalid_value"' },
      { shape: 'unknown value next to a valid one', offending: '"trampoline"' },
      { shape: 'number', offending: '7' },
      { shape: 'basic with items that are not strings', offending: '"abc"' },
    ];

    it('a few error rows among valid and legacy rows: the others are migrated, the error rows untouched and listed', async () => {
      await truncateAll(db.dataSource);
      const valid = shapesOf('valid');
      const legacy = shapesOf('migrate');
      const broken = ERROR_CASES.map((c) => shapeNamed(c.shape));
      // Interleave: error rows sit between rows that must be migrated.
      const shapes: SampleShape[] = [];
      for (let i = 0; i < Math.max(valid.length, legacy.length); i += 1) {
        if (legacy[i]) shapes.push(legacy[i]);
        if (broken[i]) shapes.push(broken[i]);
        if (valid[i]) shapes.push(valid[i]);
      }
      const samples = samplesOf(shapes, 'isolated');
      await insertSamples(db.dataSource, samples);
      const before = await readRows(db.dataSource);

      const result = await migrate();
      expect(result.exitCode).toBe(0);
      const after = await readRows(db.dataSource);
      const beforeById = byId(before);
      const categoryOf = new Map(samples.map((s) => [s.email, s.category]));

      for (const row of after) {
        const was = beforeById.get(row.id)!;
        const category = categoryOf.get(row.email);
        if (category === 'migrate') {
          expect({ email: row.email, canonical: CANONICAL_JSON.includes(row.equipment ?? '') }).toEqual({ email: row.email, canonical: true });
          expect(row.xmin).not.toBe(was.xmin);
        } else {
          expect({ email: row.email, row: row.row, xmin: row.xmin }).toEqual({ email: row.email, row: was.row, xmin: was.xmin });
        }
      }
      expect(printedCounts(result.stdout)).toEqual({
        total_processed: shapes.length,
        migrated: legacy.length,
        flagged: 0,
        skipped: valid.length,
        errors: broken.length,
      });

      const lines = errorLines(result.stdout);
      expect(lines).toHaveLength(ERROR_CASES.length);
      for (const errorCase of ERROR_CASES) {
        const sample = samples.find((s) => s.name === errorCase.shape)!;
        const row = after.find((r) => r.email === sample.email)!;
        const prefix = `Error in assessment ${row.id} (${sample.email}): `;
        const line = lines.find((l) => l.startsWith(prefix));
        expect({ shape: errorCase.shape, line: line ?? null }).toEqual({ shape: errorCase.shape, line: expect.any(String) });
        expect({ shape: errorCase.shape, reasonNamesValue: line!.slice(prefix.length).includes(errorCase.offending) }).toEqual({
          shape: errorCase.shape,
          reasonNamesValue: true,
        });
      }
    });

    it('more than 20 error rows: the console lists the first 20, then points at the report', async () => {
      await truncateAll(db.dataSource);
      const errorShapes = shapesOf('error');
      const shapes: SampleShape[] = [];
      for (let i = 0; i < 25; i += 1) {
        shapes.push(errorShapes[i % errorShapes.length]);
        if (i % 5 === 0) shapes.push(shapesOf('valid')[0]);
      }
      const samples = samplesOf(shapes, 'many-errors');
      await insertSamples(db.dataSource, samples);
      const errorEmails = new Set(samples.filter((s) => s.category === 'error').map((s) => s.email));
      const errorIds = (await readRows(db.dataSource)).filter((r) => errorEmails.has(r.email)).map((r) => r.id);
      expect(errorIds).toHaveLength(25);
      const folder = newFolder('many-errors');
      const reportPath = join(folder, 'report.json');

      const saved = await migrate('--save-report', reportPath);
      expect(saved.exitCode).toBe(0);
      const lines = errorLines(saved.stdout);
      expect(lines).toHaveLength(20);
      expect(lines.map((l) => Number(/^Error in assessment (\d+) /.exec(l)![1]))).toEqual(errorIds.slice(0, 20));
      const lastListed = saved.stdout.indexOf(lines[19]);
      expect(saved.stdout[lastListed + 1]).toBe('... and 5 more (see the report)');
      const report = readReport(reportPath);
      expect(report.details.filter((d) => d.status === 'error').map((d) => d.assessment_id)).toEqual(errorIds);
      expect(printedCounts(saved.stdout).errors).toBe(25);

      const unsaved = await migrate('--dry-run');
      expect(unsaved.exitCode).toBe(0);
      expect(errorLines(unsaved.stdout)).toHaveLength(20);
      expect(unsaved.stdout).toContain('... and 5 more (run with --save-report to see them all)');
    });
  });

  describe('--max-errors', () => {
    let folder: string;
    let samples: SampleAssessment[];

    beforeAll(async () => {
      await truncateAll(db.dataSource);
      // Legacy rows first, error rows last: earlier pages have already been written when the limit is crossed.
      const shapes = [...shapesOf('migrate'), ...shapesOf('flag'), ...shapesOf('valid'), ...shapesOf('error').slice(0, 5)];
      samples = samplesOf(shapes, 'max-errors');
      await insertSamples(db.dataSource, samples);
      folder = newFolder('max-errors');
    });

    it('more error rows than N: exit 1, nothing changed, no report file left', async () => {
      const before = await snapshotAssessments(db.dataSource);
      // Several times: discarding the report while its last details are still being written is a race.
      for (let attempt = 1; attempt <= 5; attempt += 1) {
        const result = await migrate('--max-errors', '4', '--batch-size', '3', '--save-report', join(folder, 'report.json'));
        // Let any late error of the discarded report stream surface inside this test (it fails the test if so).
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect({ attempt, exitCode: result.exitCode }).toEqual({ attempt, exitCode: 1 });
        expect(result.stderr).toContain('Aborted: more than 4 error rows (--max-errors 4); rolled back, nothing was changed');
        expect(result.stdout).not.toContain('Migration completed successfully!');
        expect(await snapshotAssessments(db.dataSource)).toEqual(before);
        expect({ attempt, files: readdirSync(folder) }).toEqual({ attempt, files: [] });
      }
    });

    it('errors at most N: exit 0 and the other rows are migrated', async () => {
      const result = await migrate('--max-errors', '5', '--batch-size', '3');
      expect(result.exitCode).toBe(0);
      expect(printedCounts(result.stdout)).toEqual({
        total_processed: shapesOf('migrate').length + shapesOf('flag').length + shapesOf('valid').length + 5,
        migrated: shapesOf('migrate').length,
        flagged: shapesOf('flag').length,
        skipped: shapesOf('valid').length,
        errors: 5,
      });
      const legacyEmails = new Set(samples.filter((s) => s.category === 'migrate').map((s) => s.email));
      const legacy = (await readRows(db.dataSource)).filter((r) => legacyEmails.has(r.email));
      expect(legacy).toHaveLength(shapesOf('migrate').length);
      for (const row of legacy) expect({ email: row.email, equipment: CANONICAL_JSON.includes(row.equipment ?? '') }).toEqual({ email: row.email, equipment: true });
    });
  });

  describe('an aborted run while the report is being written (child process)', () => {
    beforeAll(async () => {
      await truncateAll(db.dataSource);
      await seedMix(db.dataSource, 3000, { valid: 500, migrate: 500, flag: 0, error: 2000 });
    });

    it('--max-errors ends with its message and exit 1: no crash, no temporary files, table unchanged', async () => {
      const folder = newFolder('aborted-child');
      const before = await snapshotAssessments(db.dataSource);
      for (let attempt = 1; attempt <= 3; attempt += 1) {
        const result = await suite.cli(
          ['migrate-equipment', '--max-errors', '10', '--batch-size', '3000', '--no-progress', '--save-report', join(folder, 'report.json')],
          { timeoutMs: 45000 },
        );
        expect({ attempt, exitCode: result.exitCode, crashed: /Unhandled 'error' event|ERR_STREAM_DESTROYED/.test(result.stderr) }).toEqual({
          attempt,
          exitCode: 1,
          crashed: false,
        });
        expect(result.stderr).toContain('Aborted: more than 10 error rows (--max-errors 10); rolled back, nothing was changed');
        expect({ attempt, files: readdirSync(folder) }).toEqual({ attempt, files: [] });
      }
      expect(await snapshotAssessments(db.dataSource)).toEqual(before);
    });
  });

  describe('unwritable report path', () => {
    const cases: [string, (folder: string) => string][] = [
      ['the folder does not exist', (folder) => join(folder, 'missing', 'report.json')],
      [
        'the path is a folder',
        (folder) => {
          mkdirSync(join(folder, 'a-folder'));
          return join(folder, 'a-folder');
        },
      ],
    ];
    // root writes into 0500 folders anyway: the read-only case only means something for other users.
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      cases.push([
        'the folder is read-only',
        (folder) => {
          const readOnly = join(folder, 'read-only');
          mkdirSync(readOnly);
          chmodSync(readOnly, 0o500);
          return join(readOnly, 'report.json');
        },
      ]);
    }

    beforeAll(async () => {
      await truncateAll(db.dataSource);
      await insertSamples(db.dataSource, samplesOf(SAMPLE_SHAPES, 'unwritable'));
    });

    it.each(cases)('%s: exit 2, the database is not touched, the table is unchanged', async (name, makePath) => {
      const folder = newFolder(`unwritable-${name.replace(/\W+/g, '-')}`);
      const path = makePath(folder);
      const before = await snapshotAssessments(db.dataSource);
      const result = await migrate('--save-report', path);
      expect(result.exitCode).toBe(2);
      expect(result.stdout.filter((l) => l.startsWith('Database:'))).toEqual([]);
      expect(result.stderr.join('\n')).toContain(`Cannot write the report to ${path}`);
      expect(await snapshotAssessments(db.dataSource)).toEqual(before);
      expect(hiddenFiles(folder)).toEqual([]);
    });
  });

  describe('empty table', () => {
    it('exit 0 with "No assessments found to migrate", and an empty but valid report', async () => {
      await truncateAll(db.dataSource);
      const folder = newFolder('empty');
      const reportPath = join(folder, 'report.json');
      const result = await migrate('--save-report', reportPath);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain('No assessments found to migrate');
      expect(result.stdout).toContain('Migration completed successfully!');
      const report = readReport(reportPath);
      expectValidReport(report);
      expect(report.summary).toEqual({ total_processed: 0, migrated: 0, flagged: 0, skipped: 0, errors: 0 });
      expect(report.details).toEqual([]);
      expect(hiddenFiles(folder)).toEqual([]);
    });
  });

  describe('paging does not change the result', () => {
    const BATCH_SIZES = ['1', '7', '1000', '100000'];
    interface Variant {
      counts: MigrationSummary;
      outcomes: { email: string; status: Status }[];
      details: Omit<ReportDetail, 'assessment_id' | 'user_id'>[];
      table: Omit<DbRow, 'id' | 'user_id' | 'created_at' | 'updated_us' | 'row' | 'xmin'>[];
    }
    const variants = new Map<string, Variant>();

    it.each(BATCH_SIZES)('--batch-size %s on 120 rows of the realistic mix', async (batchSize) => {
      await truncateAll(db.dataSource);
      const samples = await seedMix(db.dataSource, 120, REALISTIC_MIX);
      const categoryOf = new Map(samples.map((s) => [s.email, s.category]));
      const before = await readRows(db.dataSource);
      const folder = newFolder(`paging-${batchSize}`);
      const reportPath = join(folder, 'report.json');

      const result = await migrate('--batch-size', batchSize, '--save-report', reportPath);
      expect(result.exitCode).toBe(0);
      const after = await readRows(db.dataSource);
      const report = readReport(reportPath);
      expectValidReport(report);
      expect(report.summary).toEqual(printedCounts(result.stdout));
      expect(report.summary.total_processed).toBe(120);
      expectDetailsAgreeWithDatabase(report, before, after);

      const outcomes = outcomesOf(after.map((r) => r.id), report);
      const variant: Variant = {
        counts: report.summary,
        outcomes: after.map((r) => ({ email: r.email, status: outcomes.get(r.id)! })),
        details: report.details.map(({ assessment_id: _id, user_id: _user, ...rest }) => rest),
        table: after.map(({ email, sport, age, experience, equipment, equipment_type, items, flag }) => ({
          email,
          sport,
          age,
          experience,
          equipment,
          equipment_type,
          items,
          flag,
        })),
      };
      expect(variant.outcomes).toEqual(after.map((r) => ({ email: r.email, status: STATUS_OF[categoryOf.get(r.email)!] })));
      variants.set(batchSize, variant);
    });

    it('outcomes, report details and the final table are identical for every page size', () => {
      expect([...variants.keys()]).toEqual(BATCH_SIZES);
      const singlePage = variants.get('100000')!;
      for (const size of BATCH_SIZES) {
        expect({ size, ...variants.get(size)! }).toEqual({ size, ...singlePage });
      }
    });
  });

  describe('progress goes to stderr only (child process)', () => {
    const PROGRESS_LINE = /^Processed (\d+)\/3000 assessments \((\d+)%\), (\d+) rows\/s, ETA \S+$/;

    beforeAll(async () => {
      await truncateAll(db.dataSource);
      await seedMix(db.dataSource, 3000, REALISTIC_MIX);
    });

    it('non-TTY stderr gets "Processed N/3000 assessments" lines; stdout gets none', async () => {
      const result = await suite.cli(['migrate-equipment', '--dry-run', '--batch-size', '100'], { timeoutMs: 45000 });
      expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: expect.any(String) });
      // Only the report's "Total Processed: 3000" line on stdout, never a progress line.
      expect(result.stdout).not.toMatch(/^Processed /m);
      expect(result.stdout).toContain('Total Processed: 3000');
      const progress = result.stderr.split('\n').filter((l) => PROGRESS_LINE.test(l));
      expect(progress.length).toBeGreaterThanOrEqual(1);
      for (const line of progress) {
        const [, done, percent] = PROGRESS_LINE.exec(line)!;
        expect(Number(done)).toBeLessThanOrEqual(3000);
        expect(Number(percent)).toBe(Math.floor((Number(done) / 3000) * 100));
      }
    });

    it('--no-progress: no progress lines on stderr either', async () => {
      const result = await suite.cli(['migrate-equipment', '--dry-run', '--batch-size', '100', '--no-progress'], { timeoutMs: 45000 });
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain('Total Processed: 3000');
      expect(result.stderr).not.toMatch(/Processed/);
      expect(result.stdout).not.toMatch(/^Processed /m);
    });
  });
});
