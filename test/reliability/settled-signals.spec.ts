import { generateSampleAssessments } from '../../src/demo/sample-assessments';
import { Interruption } from '../../src/cli/interruption';
import { insertSamples } from '../helpers/fixtures';
import { useTestSuite } from '../helpers/suite';

/**
 * Issue 12.10: once the commit is acknowledged, a signal no longer changes the outcome or the exit code. The signal is
 * raised at a fixed moment after the commit (when the run prints its first closing line), in-process, so the moment is
 * exact rather than timed.
 */
describe('a signal after the commit (real PostgreSQL)', () => {
  const { db, migrate, run } = useTestSuite();

  beforeEach(async () => {
    await db.dataSource.query('TRUNCATE assessments, users, equipment_migration_runs, equipment_migration_changes, equipment_migration_errors RESTART IDENTITY CASCADE');
    await insertSamples(db.dataSource, [...generateSampleAssessments({ count: 60, seed: 5, coverEveryShape: true, emailPrefix: 'settled.' })]);
  });

  const legacyRows = async () =>
    (await db.dataSource.query(`SELECT count(*)::int AS n FROM assessments WHERE NOT (equipment #>> '{}' IN ('full_gym', 'basic_equipment', 'no_equipment'))`))[0].n;

  it.each([
    ['migrate-equipment', []],
    ['migrate-equipment --online', ['--online']],
  ])('%s: SIGTERM while the report is printed is ignored: exit 0, the run committed, the last line says so', async (_name, args) => {
    const interruption = new Interruption();
    let raised = false;
    const before = await legacyRows();
    const result = await migrate(args, {
      interruption,
      onLine: (line) => {
        if (line.startsWith('Plan fingerprint:')) raised = interruption.raise('SIGTERM');
      },
    });
    // Raised and heard, but the outcome was settled: the signal is not recorded.
    expect({ raised, settled: interruption.settled, signal: interruption.signal }).toEqual({ raised: true, settled: true, signal: undefined });
    expect({ exit: result.exitCode, last: result.stdout.at(-1) }).toEqual({ exit: 0, last: 'Migration completed successfully!' });
    expect(result.stderr.join('\n')).not.toContain('Interrupted');
    expect(await legacyRows()).toBeLessThan(before);
    const [{ status }] = await db.dataSource.query(`SELECT status FROM equipment_migration_runs`);
    expect(status).toBe('completed');
  });

  it('revert-equipment-migration: SIGINT while its report is printed is ignored: exit 0, reverted', async () => {
    expect((await migrate()).exitCode).toBe(0);
    const [{ id }] = await db.dataSource.query(`SELECT id FROM equipment_migration_runs`);
    const interruption = new Interruption();
    let raised = false;
    const result = await run(['revert-equipment-migration', id], {
      interruption,
      onLine: (line) => {
        if (line === '--- Revert Report ---') raised = interruption.raise('SIGINT');
      },
    });
    expect({ raised, settled: interruption.settled, signal: interruption.signal }).toEqual({ raised: true, settled: true, signal: undefined });
    expect({ exit: result.exitCode, last: result.stdout.at(-1) }).toEqual({ exit: 0, last: 'Revert completed successfully!' });
    const [{ status }] = await db.dataSource.query(`SELECT status FROM equipment_migration_runs WHERE id = $1`, [id]);
    expect(status).toBe('reverted');
  });

  it('a signal before the commit still rolls back (the same seam, one line earlier): exit 143, nothing changed', async () => {
    const interruption = new Interruption();
    const before = await legacyRows();
    const result = await migrate([], {
      interruption,
      onLine: (line) => {
        if (line.startsWith('Found ')) interruption.raise('SIGTERM');
      },
    });
    expect(result.exitCode).toBe(143);
    expect(result.stderr.at(-1)).toBe('Interrupted: rolled back, nothing was changed');
    expect(await legacyRows()).toBe(before);
  });
});
