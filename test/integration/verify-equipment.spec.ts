import { insertSamples } from '../helpers/fixtures';
import { useTestSuite } from '../helpers/suite';
import { SampleAssessment } from '../../src/demo/sample-assessments';

const sample = (n: number, equipment: unknown, items: unknown = [], flag = false): SampleAssessment => ({
  name: `row ${n}`,
  category: 'valid',
  equipmentJson: equipment === undefined ? null : JSON.stringify(equipment),
  itemsJson: JSON.stringify(items),
  reassessmentRequired: flag,
  email: `verify.${n}@example.com`,
  sport: 'running',
  age: 30,
  experience: 'beginner',
});

describe('verify-equipment', () => {
  const { db, migrate, run } = useTestSuite({ perTest: true });

  const ids = async () => (await db.dataSource.query('SELECT id FROM assessments ORDER BY id')).map((r: { id: number }) => r.id);

  it('passes (exit 0) on a clean table and counts by value', async () => {
    await insertSamples(db.dataSource, [
      sample(1, 'full_gym'),
      sample(2, 'no_equipment'),
      sample(3, 'basic_equipment', ['dumbbells']),
      sample(4, 'basic_equipment', [], true),
    ]);
    const result = await run(['verify-equipment', '--json']);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout.join('\n'))).toEqual({
      total: 4,
      full_gym: 1,
      basic_equipment: 2,
      no_equipment: 1,
      legacy_shape: 0,
      basic_without_items_unflagged: 0,
      flagged: 1,
      offending: 0,
      ok: true,
      offending_ids: [],
    });
    expect(result.stderr.some((line) => line.startsWith('Database: '))).toBe(true);
  });

  it('fails (exit 1) on a partly migrated table and lists the legacy rows', async () => {
    await insertSamples(db.dataSource, [sample(1, 'full_gym'), sample(2, ['no_equipment', 'full_gym']), sample(3, 'Full Gym')]);
    const [, second, third] = await ids();
    const result = await run(['verify-equipment']);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('  legacy shape         2');
    expect(result.stdout).toContain('Verification failed: 2 assessments are not canonical and consistent');
    expect(result.stdout).toContain(`Offending assessment ids: ${second}, ${third}`);
  });

  it('fails on inconsistent rows: basic_equipment with no items and no flag, or with invalid items', async () => {
    await insertSamples(db.dataSource, [sample(1, 'basic_equipment', []), sample(2, 'basic_equipment', 'abc'), sample(3, 'no_equipment')]);
    const [first, second] = await ids();
    const result = await run(['verify-equipment', '--json']);
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(result.stdout.join('\n'));
    expect(report).toMatchObject({ ok: false, legacy_shape: 0, basic_without_items_unflagged: 1, offending: 2, offending_ids: [first, second] });
  });

  it('lists at most 20 offending ids', async () => {
    await insertSamples(db.dataSource, Array.from({ length: 25 }, (_, n) => sample(n, ['full_gym'])));
    const result = await run(['verify-equipment']);
    expect(result.exitCode).toBe(1);
    const line = result.stdout.find((l) => l.startsWith('Offending assessment ids (first 20): '))!;
    expect(line.split(': ')[1].split(', ')).toHaveLength(20);
  });

  it('passes after a migration that had no error rows', async () => {
    await insertSamples(db.dataSource, [sample(1, ['no_equipment', 'full_gym']), sample(2, 'basic_equipment'), sample(3, 'Full Gym')]);
    expect((await run(['verify-equipment'])).exitCode).toBe(1);
    expect((await migrate()).exitCode).toBe(0);
    const result = await run(['verify-equipment']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Verification passed: every assessment is canonical and consistent');
  });
});
