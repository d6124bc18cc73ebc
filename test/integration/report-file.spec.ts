import { execFileSync } from 'node:child_process';
import { createReadStream, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLE_SHAPES } from '../../src/demo/sample-assessments';
import { expectExit } from '../helpers/cli-process';
import { insertSamples, snapshotAssessments } from '../helpers/fixtures';
import { useTestSuite } from '../helpers/suite';

/**
 * Where `--save-report` writes: a regular file is replaced atomically, a symlink's target is replaced (the link kept),
 * a FIFO or character device is written into, anything else is refused (exit 2); and what was at the path survives
 * every run that does not commit.
 */

const REPORT_OF_ANOTHER_RUN = '{"report_version": 1, "note": "an earlier run\'s report, kept by the operator"}\n';

describe('--save-report destinations (real PostgreSQL)', () => {
  const suite = useTestSuite({ folder: 'report-file-', freshFolderEachTest: true });
  const { db, migrate, cli } = suite;

  beforeAll(async () => {
    await insertSamples(
      db.dataSource,
      SAMPLE_SHAPES.map((shape, i) => ({ ...shape, email: `report.${i}@example.com`, sport: 'running', age: 30, experience: 'beginner' })),
    );
  });

  const dryRun = (path: string) => migrate(['--dry-run', '--save-report', path]);
  /** Files left in the folder, hidden temporary files included. */
  const entries = (dir = suite.folder) => readdirSync(dir).sort();

  it('a symlink is followed: its target is replaced atomically, the link itself is kept', async () => {
    const targets = join(suite.folder, 'reports');
    mkdirSync(targets);
    const target = join(targets, 'equipment.json');
    writeFileSync(target, REPORT_OF_ANOTHER_RUN);
    const link = join(suite.folder, 'latest.json');
    symlinkSync(join('reports', 'equipment.json'), link);

    const result = await dryRun(link);
    expect(result.exitCode).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(join('reports', 'equipment.json'));
    const report = JSON.parse(readFileSync(target, 'utf8'));
    expect(report.summary.total_processed).toBe(SAMPLE_SHAPES.length);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    // The temporary files were beside the target and are gone; nothing was left beside the link.
    expect(entries()).toEqual(['latest.json', 'reports']);
    expect(entries(targets)).toEqual(['equipment.json']);
  });

  it('a dangling symlink gets its target created, the link kept', async () => {
    const link = join(suite.folder, 'latest.json');
    symlinkSync('created-by-the-run.json', link);
    expect((await dryRun(link)).exitCode).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(JSON.parse(readFileSync(join(suite.folder, 'created-by-the-run.json'), 'utf8')).summary.total_processed).toBe(SAMPLE_SHAPES.length);
  });

  it('a FIFO is written into (not replaced by a file), by the real CLI', async () => {
    const fifo = join(suite.folder, 'report.fifo');
    execFileSync('mkfifo', [fifo]);
    const received = new Promise<string>((resolve, reject) => {
      let text = '';
      createReadStream(fifo, 'utf8')
        .on('data', (chunk) => (text += chunk))
        .on('end', () => resolve(text))
        .on('error', reject);
    });
    const result = await cli(['migrate-equipment', '--dry-run', '--no-progress', '--save-report', fifo], { timeoutMs: 45000 });
    expectExit(result, 0);
    expect(JSON.parse(await received).summary.total_processed).toBe(SAMPLE_SHAPES.length);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(entries()).toEqual(['report.fifo']);
  });

  it('`--save-report /dev/stdout` puts the report on stdout, in order with the console lines (real CLI)', async () => {
    const result = await cli(['migrate-equipment', '--dry-run', '--no-progress', '--save-report', '/dev/stdout'], {
      timeoutMs: 45000,
    });
    expectExit(result, 0);
    const lines = result.stdout.split('\n');
    const start = lines.indexOf('{');
    const end = lines.indexOf('}', start);
    expect(lines.indexOf('Rolling back changes (dry run mode)')).toBeLessThan(start);
    expect(JSON.parse(lines.slice(start, end + 1).join('\n')).summary.total_processed).toBe(SAMPLE_SHAPES.length);
    expect(lines.slice(end + 1)).toContain('Report saved to: /dev/stdout');
  });

  describe('refused with exit 2 and one line, before the database is touched', () => {
    let server: Server | undefined;

    afterEach(async () => {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server = undefined;
    });

    it.each([
      ['a folder', (path: string) => mkdirSync(path), 'it is a folder'],
      [
        'a socket',
        (path: string) =>
          new Promise<void>((resolve) => {
            server = createServer().listen(path, () => resolve());
          }),
        'it is a socket',
      ],
      ['a symlink to a folder', (path: string) => symlinkSync(tmpdir(), path), 'it is a folder'],
      ['a path in a missing folder', () => undefined, 'does not exist'],
    ])('%s', async (_what, arrange, why) => {
      const path = _what === 'a path in a missing folder' ? join(suite.folder, 'missing', 'report.json') : join(suite.folder, 'target');
      await arrange(path);
      const before = await snapshotAssessments(db.dataSource);
      const result = await dryRun(path);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toHaveLength(1);
      expect(result.stderr[0]).toContain(`Cannot write the report to ${path}: `);
      expect(result.stderr[0]).toContain(why);
      expect(result.stdout.filter((l) => l.startsWith('Database:'))).toEqual([]);
      expect(await snapshotAssessments(db.dataSource)).toEqual(before);
    });
  });
});

describe('a run that does not commit leaves the earlier report at its path untouched', () => {
  const suite = useTestSuite({ perTest: true, folder: 'report-commit-' });
  const { db, migrate, run } = suite;

  beforeEach(async () => {
    await insertSamples(
      db.dataSource,
      SAMPLE_SHAPES.map((shape, i) => ({ ...shape, email: `commit.${i}@example.com`, sport: 'running', age: 30, experience: 'beginner' })),
    );
  });

  /** A deferred constraint trigger: every statement succeeds, the COMMIT itself fails. */
  const refuseAtCommit = async () => {
    await db.dataSource.query(`CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'refused at commit by an operator''s deferred check'; END $$`);
    await db.dataSource.query(`CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER UPDATE ON assessments
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit()`);
  };

  it('migrate-equipment: the commit fails, the old report is byte for byte the same, no temporary file is left', async () => {
    const reportPath = join(suite.folder, 'equipment.json');
    writeFileSync(reportPath, REPORT_OF_ANOTHER_RUN);
    await refuseAtCommit();
    const before = await snapshotAssessments(db.dataSource);

    const result = await migrate(['--save-report', reportPath]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.join('\n')).toContain('refused at commit');
    expect(result.stdout).not.toContain('Migration completed successfully!');
    expect(readFileSync(reportPath, 'utf8')).toBe(REPORT_OF_ANOTHER_RUN);
    expect(readdirSync(suite.folder)).toEqual(['equipment.json']);
    expect(await snapshotAssessments(db.dataSource)).toEqual(before);
  });

  it('revert-equipment-migration: the commit fails, the old report is byte for byte the same', async () => {
    expect((await migrate()).exitCode).toBe(0);
    const [{ id: runId }] = await db.dataSource.query(`SELECT id FROM equipment_migration_runs WHERE kind = 'migrate'`);
    const reportPath = join(suite.folder, 'revert.json');
    writeFileSync(reportPath, REPORT_OF_ANOTHER_RUN);
    await refuseAtCommit();
    const before = await snapshotAssessments(db.dataSource);

    const result = await run(['revert-equipment-migration', runId, '--save-report', reportPath]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.join('\n')).toContain('refused at commit');
    expect(readFileSync(reportPath, 'utf8')).toBe(REPORT_OF_ANOTHER_RUN);
    expect(readdirSync(suite.folder)).toEqual(['revert.json']);
    expect(await snapshotAssessments(db.dataSource)).toEqual(before);
  });

  it('after a successful commit the report replaces the old one', async () => {
    const reportPath = join(suite.folder, 'equipment.json');
    writeFileSync(reportPath, REPORT_OF_ANOTHER_RUN);
    expect((await migrate(['--save-report', reportPath])).exitCode).toBe(0);
    expect(JSON.parse(readFileSync(reportPath, 'utf8')).summary.total_processed).toBe(SAMPLE_SHAPES.length);
    expect(readdirSync(suite.folder)).toEqual(['equipment.json']);
  });
});
