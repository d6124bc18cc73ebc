import { REALISTIC_MIX } from '../../src/demo/sample-assessments';
import { expectExit, killStrayProcesses, printedCounts, startCli } from '../helpers/cli-process';
import { seedMix, truncateAll } from '../helpers/fixtures';
import { LocalServer, Standby, startPrimary, startStandby } from '../helpers/standby';
import { createTestDatabase, TestDatabase } from '../helpers/test-database';

/**
 * `migrate-equipment --online` held by a real standby whose replay is paused (pg_wal_replay_pause()): the run's own
 * pages are the writes it lags behind. The database lives on a private primary (test/helpers/standby.ts), so the
 * paused standby throttles no other test file's runs. No timing assertions: lines, their order, exit codes, the table.
 */

const TIMEOUT_MS = 240_000;
jest.setTimeout(TIMEOUT_MS);

const ROWS = 400;
// One candidate per page and a pause between pages: enough pages for the lag to pass 1 s while the run is on.
const ONLINE = ['migrate-equipment', '--online', '--batch-size', '1', '--pause', '50', '--max-replication-lag', '1', '--no-progress'];
const THROTTLE_LINE = /^Throttled: replica lag \d+\.\d s > 1 s; waiting$/m;

describe('migrate-equipment --online against a paused standby', () => {
  let primary: LocalServer;
  let standby: Standby;
  let db: TestDatabase;

  /** Rows the run changed and committed so far (its audit trail). */
  const changedRows = async () => (await db.dataSource.query('SELECT count(*)::int AS n FROM equipment_migration_changes'))[0].n as number;

  beforeAll(async () => {
    primary = await startPrimary();
    db = await createTestDatabase({ server: primary.url });
    standby = await startStandby(primary.url);
  });

  beforeEach(async () => {
    await truncateAll(db.dataSource);
    await seedMix(db.dataSource, ROWS, REALISTIC_MIX);
    // Replay is paused only after the seed is replayed: the lag that holds the run is then the run's own pages'.
    await standby.waitUntilCaughtUp();
  });

  afterEach(async () => {
    await killStrayProcesses();
    await standby.resumeReplay();
  });

  afterAll(async () => {
    await standby?.stop();
    await db?.drop();
    await primary?.stop();
  });

  it('waits with the throttle line while replay is paused, and finishes once it resumes', async () => {
    const samples = await db.dataSource.query('SELECT count(*)::int AS n FROM assessments');
    expect(samples[0].n).toBe(ROWS);
    await standby.pauseReplay();
    const run = startCli(ONLINE, db.env, { timeoutMs: TIMEOUT_MS - 30_000 });
    await run.waitFor('stderr', THROTTLE_LINE, 150_000);
    expect(run.running).toBe(true);
    const whileHeld = await changedRows();

    await standby.resumeReplay();
    const result = await run.exited;
    expectExit(result, 0);
    expect(result.stderr).toMatch(THROTTLE_LINE);
    const counts = printedCounts(result.stdout);
    expect(counts['Total Processed']).toBe(ROWS);
    // Held part-way: pages were committed before the wait, and more after it.
    expect(whileHeld).toBeGreaterThan(0);
    expect(await changedRows()).toBe(counts['Migrated'] + counts['Flagged for Re-assessment']);
    expect(whileHeld).toBeLessThan(await changedRows());
  });

  it('stops part-way with exit 4 once it was held longer than --max-throttle', async () => {
    await standby.pauseReplay();
    const result = await startCli([...ONLINE, '--max-throttle', '2'], db.env, { timeoutMs: TIMEOUT_MS - 30_000 }).exited;
    expectExit(result, 4);
    const lines = result.stderr.split('\n');
    const throttled = lines.findIndex((line) => THROTTLE_LINE.test(line));
    const stopped = lines.findIndex((line) => /Throttled for more than 2 s \(--max-throttle 2\): replica lag \d+\.\d s > 1 s/.test(line));
    expect(throttled).toBeGreaterThanOrEqual(0);
    expect(stopped).toBeGreaterThan(throttled);
    // Committed pages remain; the rest is left for --resume.
    const reference = printedCounts(result.stdout);
    expect(reference['Total Processed']).toBeUndefined(); // no final report: it stopped
    expect(await changedRows()).toBeGreaterThan(0);
  });
});
