import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SAMPLE_SHAPES } from '../../src/demo/sample-assessments';
import { insertSamples, snapshotAssessments } from '../helpers/fixtures';
import { useTestSuite } from '../helpers/suite';

/**
 * `npm run cli …` without `--`: npm (11) keeps options it does not know for itself. What it does, checked by hand:
 * - `--dry-run` is npm's own flag: the script gets no argument, npm exports npm_config_dry_run=true;
 * - `--save-report x.json` is unknown to npm: it becomes npm_config_save_report=true and `x.json` reaches the script
 *   as a stray argument.
 * The command must honour the first (with a warning) and refuse the second before touching the database.
 */

describe('migrate-equipment through `npm run cli` (child process)', () => {
  const suite = useTestSuite({ folder: 'npm-wrapper-' });
  const { db, cli } = suite;

  beforeAll(async () => {
    await insertSamples(
      db.dataSource,
      SAMPLE_SHAPES.map((shape, i) => ({ ...shape, email: `npm.${i}@example.com`, sport: 'running', age: 30, experience: 'beginner' })),
    );
  });

  const npm = (args: string[]) => cli(args, { viaNpm: true, timeoutMs: 45000 });
  const lines = (text: string) => text.split('\n');
  const databaseLines = (stdout: string) => lines(stdout).filter((l) => l.startsWith('Database:'));

  it('`npm run cli migrate-equipment --dry-run` (no `--`) still runs as a dry run and warns how to pass options', async () => {
    const before = await snapshotAssessments(db.dataSource);
    const result = await npm(['migrate-equipment', '--dry-run']);
    expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: expect.any(String) });
    expect(lines(result.stdout)).toContain('DRY RUN MODE - No changes will be saved');
    expect(lines(result.stdout)).toContain('Rolling back changes (dry run mode)');
    expect(lines(result.stdout)).toContain(`Total Processed: ${SAMPLE_SHAPES.length}`);
    expect(result.stderr).toMatch(/--dry-run/);
    expect(result.stderr).toContain('npm run cli --');
    expect(await snapshotAssessments(db.dataSource)).toEqual(before);
  });

  it('`npm run cli -- migrate-equipment --dry-run` (with `--`) is a dry run without the warning', async () => {
    const before = await snapshotAssessments(db.dataSource);
    const result = await npm(['--', 'migrate-equipment', '--dry-run']);
    expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: expect.any(String) });
    expect(lines(result.stdout)).toContain('DRY RUN MODE - No changes will be saved');
    expect(result.stderr).not.toMatch(/npm took|npm run cli --/);
    expect(await snapshotAssessments(db.dataSource)).toEqual(before);
  });

  it('`npm run cli migrate-equipment --save-report x.json` (no `--`) exits 2 before touching the database, with the hint', async () => {
    const before = await snapshotAssessments(db.dataSource);
    const reportPath = join(suite.folder, 'x.json');
    const result = await npm(['migrate-equipment', '--save-report', reportPath]);
    expect({ exitCode: result.exitCode, stdout: result.stdout }).toEqual({ exitCode: 2, stdout: expect.any(String) });
    expect(databaseLines(result.stdout)).toEqual([]);
    expect(result.stdout).not.toContain('Starting equipment data migration...');
    expect(result.stderr).toContain('npm run cli -- migrate-equipment');
    expect(existsSync(reportPath)).toBe(false);
    expect(await snapshotAssessments(db.dataSource)).toEqual(before);
  });

  it('`npm run cli migrate-equipment --batch-size 5` (no `--`) exits 2 before touching the database, with the hint', async () => {
    const before = await snapshotAssessments(db.dataSource);
    const result = await npm(['migrate-equipment', '--batch-size', '5']);
    expect(result.exitCode).toBe(2);
    expect(databaseLines(result.stdout)).toEqual([]);
    expect(result.stderr).toContain('npm run cli -- migrate-equipment');
    expect(await snapshotAssessments(db.dataSource)).toEqual(before);
  });

  it('an unknown option after `--` exits 2 with the hint, before touching the database', async () => {
    const before = await snapshotAssessments(db.dataSource);
    const result = await npm(['--', 'migrate-equipment', '--no-such-option']);
    expect(result.exitCode).toBe(2);
    expect(databaseLines(result.stdout)).toEqual([]);
    expect(result.stderr).toContain("unknown option '--no-such-option'");
    expect(result.stderr).toContain('npm run cli -- migrate-equipment');
    expect(await snapshotAssessments(db.dataSource)).toEqual(before);
  });
});

describe('revert-equipment-migration through `npm run cli` (child process): the same rule, from the shared command base', () => {
  const { db, migrate, cli } = useTestSuite();
  let runId: string;

  beforeAll(async () => {
    await insertSamples(
      db.dataSource,
      SAMPLE_SHAPES.map((shape, i) => ({ ...shape, email: `npm.revert.${i}@example.com`, sport: 'running', age: 30, experience: 'beginner' })),
    );
    expect((await migrate()).exitCode).toBe(0);
    [{ id: runId }] = await db.dataSource.query(`SELECT id FROM equipment_migration_runs WHERE kind = 'migrate'`);
  });

  const npm = (args: string[]) => cli(args, { viaNpm: true, timeoutMs: 45000 });
  const lines = (text: string) => text.split('\n');
  const runStatus = async () => (await db.dataSource.query(`SELECT status FROM equipment_migration_runs WHERE id = $1`, [runId]))[0].status;

  it('`npm run cli revert-equipment-migration <id> --dry-run` (no `--`) stays a dry run, with the warning', async () => {
    const before = await snapshotAssessments(db.dataSource);
    const result = await npm(['revert-equipment-migration', runId, '--dry-run']);
    expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: expect.any(String) });
    expect(lines(result.stdout)).toContain('DRY RUN MODE - No changes will be saved');
    expect(lines(result.stdout)).toContain('Rolling back changes (dry run mode)');
    expect(result.stderr).toContain('npm took --dry-run as its own option; running as a dry run anyway');
    expect(result.stderr).toContain('npm run cli -- revert-equipment-migration <run-id> --dry-run');
    expect(await snapshotAssessments(db.dataSource)).toEqual(before);
    expect(await runStatus()).not.toBe('reverted');
  });

  it.each([
    ['--batch-size=5', '--batch-size'],
    ['--save-report=revert.json', '--save-report'],
    ['--lock-timeout=3', '--lock-timeout'],
  ])('`npm run cli revert-equipment-migration <id> %s` (no `--`) exits 2 before touching the database', async (option, name) => {
    const before = await snapshotAssessments(db.dataSource);
    const result = await npm(['revert-equipment-migration', runId, option]);
    expect(result.exitCode).toBe(2);
    expect(lines(result.stdout).filter((l) => l.startsWith('Database:'))).toEqual([]);
    expect(lines(result.stderr.trim())).toEqual([
      `npm took ${name} as its own option, so the command never saw it. Pass options to the command after \`--\`, e.g. \`npm run cli -- revert-equipment-migration <run-id> --dry-run\``,
    ]);
    expect(await snapshotAssessments(db.dataSource)).toEqual(before);
    expect(await runStatus()).not.toBe('reverted');
  });

  it('`npm run cli migrate-equipment --max-errors=0` (no `--`) exits 2 too: each command adds its own options to the shared list', async () => {
    const result = await npm(['migrate-equipment', '--max-errors=0']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('npm took --max-errors as its own option');
    expect(lines(result.stdout).filter((l) => l.startsWith('Database:'))).toEqual([]);
  });
});
