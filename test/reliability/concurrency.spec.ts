import { Client } from 'pg';
import { REALISTIC_MIX, SampleAssessment, SampleCategory } from '../../src/demo/sample-assessments';
import { EQUIPMENT_MIGRATION_LOCK_KEY } from '../../src/run-engine/migration-lock';
import { ProcessResult } from '../helpers/cli-harness';
import { expectExit, startCli } from '../helpers/cli-process';
import { seedMix, snapshotAssessments, truncateAll } from '../helpers/fixtures';
import { advisoryLocks, cliBackends, comparableAssessments, isKey, pinCreatedAt, rowDifferences, watchWritingSessions } from '../helpers/pg-state';
import { pollUntil } from '../helpers/poll';
import { printedCounts, printedReport } from '../helpers/printed-counts';
import { useTestSuite } from '../helpers/suite';

/**
 * One migrate-equipment run at a time: each run takes a transaction-scoped advisory lock (pg_try_advisory_xact_lock)
 * before touching anything, so concurrent runs, real processes on a real PostgreSQL, never interleave, and no lock
 * outlives the transaction of the run that took it.
 */

const TIMEOUT_MS = 60_000;
const CLI_TIMEOUT_MS = 40_000;
const LOCKED_MESSAGE = /^Another migration run is in progress \(it holds the equipment migration lock\).*; nothing was changed$/m;

function countsOf(samples: SampleAssessment[]): Record<SampleCategory, number> {
  const counts: Record<SampleCategory, number> = { valid: 0, migrate: 0, flag: 0, error: 0 };
  for (const sample of samples) counts[sample.category] += 1;
  return counts;
}

/** Takes the migration lock in a session of its own, as another run would, and keeps it until commit(). */
async function holdMigrationLock(url: string): Promise<{ commit(): Promise<void>; end(): Promise<void> }> {
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT pg_advisory_xact_lock($1)', [EQUIPMENT_MIGRATION_LOCK_KEY]);
  return {
    commit: async () => void (await client.query('COMMIT')),
    end: () => client.end(),
  };
}

/** Whether a fresh session can take the migration lock right now (it gives it back at once). */
async function lockIsFree(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [EQUIPMENT_MIGRATION_LOCK_KEY]);
    await client.query('ROLLBACK');
    return rows[0].locked === true;
  } finally {
    await client.end();
  }
}

describe('one migrate-equipment run at a time', () => {
  const { db, cli } = useTestSuite({ children: true });
  /** A second database seeded alike, for the result of one run alone. */
  const { db: reference, cli: referenceCli } = useTestSuite();

  /** No advisory lock of any session is left in the database, and a new session can take the migration lock. */
  async function expectNoLockLeft(): Promise<void> {
    expect(await advisoryLocks(db.dataSource, db.name)).toEqual([]);
    expect(await lockIsFree(db.url)).toBe(true);
  }

  it(
    'five runs started together: exactly one migrates, the others are locked out (exit 3) or find nothing left, and the table ends as after one run',
    async () => {
      const ROWS = 8000;
      const SEED = 1910;
      const samples = await seedMix(db.dataSource, ROWS, REALISTIC_MIX, SEED);
      await seedMix(reference.dataSource, ROWS, REALISTIC_MIX, SEED);
      await pinCreatedAt(db.dataSource);
      await pinCreatedAt(reference.dataSource);
      const expected = countsOf(samples);
      expect(expected.migrate).toBeGreaterThan(0);
      // The two copies start identical.
      const initial = await comparableAssessments(db.dataSource);
      expect(Object.keys(initial)).toHaveLength(ROWS);
      expect(rowDifferences(initial, await comparableAssessments(reference.dataSource))).toEqual([]);

      // A small page size keeps the winner inside its transaction for a while, so the others do meet its lock.
      const args = ['migrate-equipment', '--batch-size', '20', '--no-progress'];

      const single = await referenceCli(args, { timeoutMs: CLI_TIMEOUT_MS });
      expectExit(single, 0);
      const singleCounts = printedCounts(single.stdout);
      expect(singleCounts).toEqual({
        total_processed: ROWS,
        migrated: expected.migrate,
        flagged: expected.flag,
        skipped: expected.valid,
        errors: expected.error,
      });

      const writers = watchWritingSessions(db.dataSource, db.name);
      const runs = Array.from({ length: 5 }, () => startCli(args, db.env, { timeoutMs: CLI_TIMEOUT_MS }));
      const results = await Promise.all(runs.map((run) => run.exited));
      // At no moment did two runs have a writing transaction open (and the watcher did see the winner's).
      expect(await writers.stop()).toBe(1);

      /** What each run did; anything else is spelled out with its output, so a failure shows it. */
      const outcome = (result: ProcessResult): string => {
        // A run locked out prints no report block.
        const counts = printedReport(result.stdout) ? printedCounts(result.stdout) : undefined;
        if (result.exitCode === 0 && result.signal === null && counts !== undefined && counts.migrated > 0) return 'migrated';
        if (
          result.exitCode === 3 &&
          result.signal === null &&
          LOCKED_MESSAGE.test(result.stderr) &&
          !result.stdout.includes('Starting equipment data migration')
        ) {
          return 'locked out';
        }
        if (
          result.exitCode === 0 &&
          result.signal === null &&
          counts?.migrated === 0 &&
          counts.flagged === 0 &&
          /^Migration completed successfully!$/m.test(result.stdout)
        ) {
          return 'nothing left';
        }
        return `unexpected: exit ${result.exitCode}, signal ${result.signal}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
      };
      const outcomes = results.map(outcome);
      expect(outcomes.filter((o) => o.startsWith('unexpected'))).toEqual([]);
      expect(outcomes.filter((o) => o === 'migrated')).toHaveLength(1);

      // The winner did exactly what the single run did, and the table is the same.
      const winner = results[outcomes.indexOf('migrated')];
      expect(printedCounts(winner.stdout)).toEqual(singleCounts);
      const after = await comparableAssessments(db.dataSource);
      expect(rowDifferences(initial, after, Infinity)).toHaveLength(expected.migrate + expected.flag);
      expect(rowDifferences(after, await comparableAssessments(reference.dataSource))).toEqual([]);

      await expectNoLockLeft();
    },
    TIMEOUT_MS,
  );

  it(
    'while another session holds the lock a run exits 3 and changes nothing; with --wait-for-lock it waits for the holder and then migrates',
    async () => {
      await truncateAll(db.dataSource);
      const samples = await seedMix(db.dataSource, 2000, REALISTIC_MIX, 42);
      const expected = countsOf(samples);
      const before = await snapshotAssessments(db.dataSource);

      const holder = await holdMigrationLock(db.url);
      try {
        const locked = await cli(['migrate-equipment', '--no-progress'], { timeoutMs: CLI_TIMEOUT_MS });
        expectExit(locked, 3);
        expect(locked.stderr).toMatch(LOCKED_MESSAGE);
        expect(locked.stdout).not.toContain('Starting equipment data migration');
        expect(await snapshotAssessments(db.dataSource)).toEqual(before);

        const waiting = startCli(['migrate-equipment', '--no-progress', '--wait-for-lock', '10'], db.env, {
          timeoutMs: CLI_TIMEOUT_MS,
        });
        await waiting.waitFor('stdout', /^Database: /m);
        // Its session has asked for the lock (and, refused, keeps asking).
        const backends = await pollUntil(
          () => cliBackends(db.dataSource, db.name),
          (rows) => rows.some((r) => r.query.includes('pg_try_advisory_xact_lock')),
        );
        expect(backends.map((r) => r.query)).toContainEqual(expect.stringContaining('pg_try_advisory_xact_lock'));

        await new Promise((resolve) => setTimeout(resolve, 1000)); // the holder keeps its lock about a second more
        expect(waiting.running).toBe(true);
        expect(waiting.stdout).not.toContain('Starting equipment data migration');
        expect(await snapshotAssessments(db.dataSource)).toEqual(before);

        await holder.commit();
        const result = await waiting.exited;
        expectExit(result, 0);
        expect(result.stderr).not.toMatch(LOCKED_MESSAGE);
        expect(result.stdout).toContain('Starting equipment data migration...');
        expect(printedCounts(result.stdout)).toMatchObject({
          migrated: expected.migrate,
          flagged: expected.flag,
          errors: expected.error,
        });
        expect(await snapshotAssessments(db.dataSource)).not.toEqual(before);
      } finally {
        await holder.end();
      }
      await expectNoLockLeft();
    },
    TIMEOUT_MS,
  );

  it(
    '--wait-for-lock gives up (exit 3) when the holder keeps the lock longer, changing nothing',
    async () => {
      await truncateAll(db.dataSource);
      await seedMix(db.dataSource, 500, REALISTIC_MIX, 43);
      const before = await snapshotAssessments(db.dataSource);
      const holder = await holdMigrationLock(db.url);
      try {
        const result = await cli(['migrate-equipment', '--no-progress', '--wait-for-lock', '1'], {
          timeoutMs: CLI_TIMEOUT_MS,
        });
        expectExit(result, 3);
        expect(result.stderr).toMatch(LOCKED_MESSAGE);
        expect(result.stderr).toContain('waited 1s');
        expect(await snapshotAssessments(db.dataSource)).toEqual(before);
        // The holder still has its lock: the run gave back nothing it did not own.
        const locks = await advisoryLocks(db.dataSource, db.name);
        expect(locks.filter((l) => isKey(l, EQUIPMENT_MIGRATION_LOCK_KEY) && l.granted)).toHaveLength(1);
      } finally {
        await holder.commit();
        await holder.end();
      }
      await expectNoLockLeft();
    },
    TIMEOUT_MS,
  );

  it(
    'a run holds the migration lock while it works, and no lock outlives a run, whether it commits, rolls back a dry run or aborts',
    async () => {
      await truncateAll(db.dataSource);
      await seedMix(db.dataSource, 5000, REALISTIC_MIX, 44);

      // Mid-run (a slow dry run: small pages), the lock is held by the run's own session.
      const dry = startCli(['migrate-equipment', '--dry-run', '--batch-size', '5', '--no-progress'], db.env, {
        timeoutMs: CLI_TIMEOUT_MS,
      });
      await dry.waitFor('stdout', /^Found 5000 assessments to process$/m);
      const held = await advisoryLocks(db.dataSource, db.name);
      const runPids = (await cliBackends(db.dataSource, db.name)).map((b) => b.pid);
      expect(dry.running).toBe(true);
      expect(held).toHaveLength(1);
      expect(isKey(held[0], EQUIPMENT_MIGRATION_LOCK_KEY)).toBe(true);
      expect(held[0]).toMatchObject({ mode: 'ExclusiveLock', granted: true });
      expect(runPids).toContain(held[0].pid);
      expectExit(await dry.exited, 0);
      await expectNoLockLeft();

      // Aborted by --max-errors (the mix has error rows): rolled back, exit 1.
      const aborted = await cli(['migrate-equipment', '--max-errors', '0', '--no-progress'], {
        timeoutMs: CLI_TIMEOUT_MS,
      });
      expectExit(aborted, 1);
      expect(aborted.stderr).toMatch(/^Aborted: more than 0 error rows/m);
      await expectNoLockLeft();

      // Committed.
      const committed = await cli(['migrate-equipment', '--no-progress'], { timeoutMs: CLI_TIMEOUT_MS });
      expectExit(committed, 0);
      expect(printedCounts(committed.stdout).migrated).toBeGreaterThan(0);
      await expectNoLockLeft();
    },
    TIMEOUT_MS,
  );
});
