import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { expectedOutcomes, REALISTIC_MIX } from '../../src/demo/sample-assessments';
import { EQUIPMENT_MIGRATION_LOCK_KEY } from '../../src/run-engine/migration-lock';
import { PROJECT_ROOT, removeEmbeddedDataDir, runCli } from '../helpers/cli-harness';
import { CliProcess, expectExit, killStrayProcesses, startCli } from '../helpers/cli-process';
import { seedMix, snapshotAssessments } from '../helpers/fixtures';
import { advisoryLocks, cliBackends, cliSessionsGone } from '../helpers/pg-state';
import { pollUntil } from '../helpers/poll';
import { printedCounts } from '../helpers/printed-counts';
import { useTestSuite } from '../helpers/suite';

/**
 * SIGINT (Ctrl-C) and SIGTERM (a deploy tool, `kill`) in the middle of a real run, sent to the real CLI process: the run
 * stops, rolls back, removes its temporary report files, releases its lock, and exits 130 / 143 with one clear line.
 */

const TIMEOUT_MS = 60_000;
const CLI_TIMEOUT_MS = 45_000;
/** How long a signalled run may take to end before the harness gives up on it (no assertion on time). */
const EXIT_AFTER_SIGNAL_MS = 15_000;
const ROWS = 20_000;
const INTERRUPTED = 'Interrupted: rolled back, nothing was changed';
/** A plain progress line (stderr is not a terminal), printed every 5 s or 10%. */
const PROGRESS_LINE = new RegExp(`^Processed \\d+/${ROWS} assessments`, 'm');

/**
 * Waits until the run is under way: it holds the lock and has counted its rows (stdout), and has finished some pages
 * (a progress line on stderr). Small pages (--batch-size 20) leave it seconds of work after that.
 */
async function waitUntilMidRun(run: CliProcess): Promise<void> {
  await run.waitFor('stdout', new RegExp(`^Found ${ROWS} assessments to process$`, 'm'));
  await run.waitFor('stderr', PROGRESS_LINE);
  expect(run.stdout).not.toContain('--- Migration Report ---');
}

describe('SIGINT and SIGTERM during a run (DATABASE_URL)', () => {
  const suite = useTestSuite({ folder: 'reliability-signals-', freshFolderEachTest: true, children: true });
  const { db } = suite;

  beforeAll(async () => {
    await seedMix(db.dataSource, ROWS, REALISTIC_MIX, 2024);
  }, TIMEOUT_MS);

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s mid-run: exit %i, rolled back (every row byte-identical, same xmin), no report files, no lock',
    async (signal, exitCode) => {
      const before = await snapshotAssessments(db.dataSource);
      expect(before).toHaveLength(ROWS);

      const run = startCli(['migrate-equipment', '--batch-size', '20', '--save-report', join(suite.folder, 'r.json')], db.env, {
        timeoutMs: CLI_TIMEOUT_MS,
      });
      await waitUntilMidRun(run);
      // The run has started its report: its hidden temporary file is in the folder.
      expect(readdirSync(suite.folder)).toContainEqual(expect.stringMatching(/^\.r\.json\..*\.tmp$/));

      run.signal(signal);
      const result = await run.waitForExit(EXIT_AFTER_SIGNAL_MS);

      expectExit(result, exitCode);
      expect(result.stderr).toContain(INTERRUPTED);
      expect(result.stdout).not.toContain('Migration completed successfully!');
      expect(result.stdout).not.toContain('Report saved to:');
      expect(await snapshotAssessments(db.dataSource)).toEqual(before);
      expect(readdirSync(suite.folder)).toEqual([]);
      expect(await advisoryLocks(db.dataSource, db.name)).toEqual([]);
    },
    TIMEOUT_MS,
  );

  it(
    'SIGTERM while the run waits for another run\'s lock (--wait-for-lock): exit 143, nothing changed, the other run keeps its lock',
    async () => {
      const before = await snapshotAssessments(db.dataSource);
      const other = new Client({ connectionString: db.url });
      await other.connect();
      try {
        await other.query('BEGIN');
        await other.query('SELECT pg_advisory_xact_lock($1)', [EQUIPMENT_MIGRATION_LOCK_KEY]);
        const [{ pid: otherPid }] = (await other.query('SELECT pg_backend_pid() AS pid')).rows;

        const run = startCli(
          ['migrate-equipment', '--wait-for-lock', '60', '--no-progress', '--save-report', join(suite.folder, 'r.json')],
          db.env,
          { timeoutMs: CLI_TIMEOUT_MS },
        );
        await run.waitFor('stdout', /^Database: /m);
        const asking = await pollUntil(
          () => cliBackends(db.dataSource, db.name),
          (rows) => rows.some((r) => r.query.includes('pg_try_advisory_xact_lock')),
        );
        expect(asking.map((r) => r.query)).toContainEqual(expect.stringContaining('pg_try_advisory_xact_lock'));

        run.signal('SIGTERM');
        const result = await run.waitForExit(EXIT_AFTER_SIGNAL_MS);
        expectExit(result, 143);
        expect(result.stderr).toContain(INTERRUPTED);
        expect(result.stdout).not.toContain('Starting equipment data migration');
        expect(readdirSync(suite.folder)).toEqual([]);
        const left = await cliSessionsGone(db.dataSource, db.name);
        expect(left).toEqual([]);
        const locks = await advisoryLocks(db.dataSource, db.name);
        expect(locks.map((l) => ({ pid: l.pid, granted: l.granted }))).toEqual([{ pid: otherPid, granted: true }]);
      } finally {
        await other.query('ROLLBACK').catch(() => undefined);
        await other.end();
      }
      expect(await snapshotAssessments(db.dataSource)).toEqual(before);
    },
    TIMEOUT_MS,
  );

  it(
    'SIGINT while the run waits for a row lock another session holds (--lock-timeout 0): exit 130, and its server session and lock end with it, though the other session keeps its row lock',
    async () => {
      const before = await snapshotAssessments(db.dataSource);
      // A row the run must write (a multiple selection), locked by "the app" in an open transaction.
      const [{ id }] = await db.dataSource.query(
        `SELECT id FROM assessments WHERE jsonb_typeof(equipment) = 'array' ORDER BY id LIMIT 1`,
      );
      const app = new Client({ connectionString: db.url });
      await app.connect();
      try {
        await app.query('BEGIN');
        await app.query('SELECT id FROM assessments WHERE id = $1 FOR UPDATE', [id]);

        const run = startCli(
          ['migrate-equipment', '--lock-timeout', '0', '--no-progress', '--save-report', join(suite.folder, 'r.json')],
          db.env,
          { timeoutMs: CLI_TIMEOUT_MS },
        );
        await run.waitFor('stdout', new RegExp(`^Found ${ROWS} assessments to process$`, 'm'));
        const waiting = await pollUntil(
          () => cliBackends(db.dataSource, db.name),
          (rows) => rows.some((r) => r.wait_event_type === 'Lock'),
        );
        expect(waiting.map((r) => r.wait_event_type)).toContain('Lock');

        run.signal('SIGINT');
        const result = await run.waitForExit(EXIT_AFTER_SIGNAL_MS);
        expectExit(result, 130);
        expect(result.stderr).toContain(INTERRUPTED);
        expect(readdirSync(suite.folder)).toEqual([]);

        // "Rolled back" must be true once the process has gone: no session of the run is left waiting in the server
        // (bounded poll: a closed connection can take the server a moment to notice), and so no lock of it either.
        // Meanwhile the app still holds its row lock, so nothing but the run's own ending can clear them.
        const left = await cliSessionsGone(db.dataSource, db.name);
        expect(left).toEqual([]);
        expect(await advisoryLocks(db.dataSource, db.name)).toEqual([]);
      } finally {
        await app.query('ROLLBACK').catch(() => undefined);
        await app.end();
        // Whatever the outcome, leave no session of the run behind for the other tests.
        await cliSessionsGone(db.dataSource, db.name, 10_000);
      }
      expect(await snapshotAssessments(db.dataSource)).toEqual(before);
    },
    TIMEOUT_MS,
  );
});

describe('SIGINT during a run on the embedded default (no DATABASE_URL, no PG*)', () => {
  const dataDir = join(PROJECT_ROOT, '.data', `reliability-signals-${randomBytes(6).toString('hex')}`);
  const ownerFile = `${dataDir}.owner`;
  /** Only what the command needs: no DATABASE_URL, PG* or TEST_DATABASE_URL of the Jest process. */
  const env: NodeJS.ProcessEnv = { EMBEDDED_POSTGRES_DIR: dataDir, NODE_ENV: 'test' };
  let reportDir: string;

  /** Once a command has ended, its server is stopped and nobody owns the folder. */
  function expectStopped(): void {
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
    expect(existsSync(ownerFile)).toBe(false);
  }

  beforeAll(() => {
    expect(existsSync(dataDir)).toBe(false);
    reportDir = mkdtempSync(join(tmpdir(), 'reliability-signals-embedded-'));
  });

  afterEach(async () => {
    await killStrayProcesses();
  });

  afterAll(async () => {
    await killStrayProcesses();
    await removeEmbeddedDataDir(dataDir);
    rmSync(reportDir, { recursive: true, force: true });
  }, TIMEOUT_MS);

  /** Nothing was changed: a dry run still finds every row of the seeded sample to migrate or flag. */
  async function expectNothingMigrated(): Promise<void> {
    const expected = expectedOutcomes({ count: ROWS });
    const dry = await runCli(['migrate-equipment', '--dry-run', '--no-progress'], env, { timeoutMs: CLI_TIMEOUT_MS });
    expectExit(dry, 0);
    expect(printedCounts(dry.stdout)).toEqual({
      total_processed: ROWS,
      migrated: expected.migrate,
      flagged: expected.flag,
      skipped: expected.valid,
      errors: expected.error,
    });
    expectStopped();
  }

  it(
    'SIGINT mid-run: exit 130, rolled back, no report files, and the embedded server is stopped',
    async () => {
      const seeded = await runCli(['seed-demo', '--count', String(ROWS)], env, { timeoutMs: CLI_TIMEOUT_MS });
      expectExit(seeded, 0);
      expect(seeded.stdout).toContain(`Seeded ${ROWS} demo assessments`);
      expectStopped();

      const run = startCli(['migrate-equipment', '--batch-size', '20', '--save-report', join(reportDir, 'r.json')], env, {
        timeoutMs: CLI_TIMEOUT_MS,
      });
      await waitUntilMidRun(run);
      run.signal('SIGINT');
      const result = await run.waitForExit(EXIT_AFTER_SIGNAL_MS);

      expectExit(result, 130);
      expect(result.stderr).toContain('Using the embedded PostgreSQL (started');
      expect(result.stderr).toContain(INTERRUPTED);
      expect(result.stdout).not.toContain('Migration completed successfully!');
      expectStopped();
      expect(readdirSync(reportDir)).toEqual([]);
      await expectNothingMigrated();
    },
    TIMEOUT_MS,
  );

  it(
    'Ctrl-C at a terminal (SIGINT to the whole process group, the embedded server included): the same clean end',
    async () => {
      const run = startCli(['migrate-equipment', '--batch-size', '20', '--save-report', join(reportDir, 'r.json')], env, {
        timeoutMs: CLI_TIMEOUT_MS,
        processGroup: true,
      });
      await waitUntilMidRun(run);
      run.signalGroup('SIGINT');
      const result = await run.waitForExit(EXIT_AFTER_SIGNAL_MS);

      expectExit(result, 130);
      expect(result.stderr).toContain(INTERRUPTED);
      expect(result.stdout).not.toContain('Migration completed successfully!');
      expectStopped();
      expect(readdirSync(reportDir)).toEqual([]);
      await expectNothingMigrated();
    },
    TIMEOUT_MS,
  );
});
