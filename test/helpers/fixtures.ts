import { DataSource, QueryRunner } from 'typeorm';
import { generateSampleAssessments, SampleAssessment, SampleMix } from '../../src/demo/sample-assessments';
import { SampleDataRepository } from '../../src/demo/sample-data.repository';

export interface RowSnapshot {
  id: number;
  /** The whole row as PostgreSQL's JSON text (every column, byte for byte). */
  row: string;
  xmin: string;
}

/** Inserts the given samples (one user each) in one statement per 5000 rows. */
export async function insertSamples(dataSource: DataSource, samples: SampleAssessment[]): Promise<void> {
  await withQueryRunner(dataSource, async (queryRunner) => {
    const repository = new SampleDataRepository(queryRunner);
    for (let i = 0; i < samples.length; i += 5000) await repository.insert(samples.slice(i, i + 5000));
  });
}

/** Inserts `count` generated samples with an exact mix (counts, not weights, when they add up to count). */
export async function seedMix(dataSource: DataSource, count: number, mix: SampleMix, seed = 7): Promise<SampleAssessment[]> {
  const samples = [...generateSampleAssessments({ count, mix, seed, coverEveryShape: false, emailPrefix: 'fixture.' })];
  await insertSamples(dataSource, samples);
  return samples;
}

/** Every assessment row, in id order, as JSON text plus its row version. */
export async function snapshotAssessments(dataSource: DataSource): Promise<RowSnapshot[]> {
  return dataSource.query(`SELECT id, row_to_json(a)::text AS row, xmin::text AS xmin FROM assessments a ORDER BY id`);
}

export async function withQueryRunner<T>(dataSource: DataSource, work: (queryRunner: QueryRunner) => Promise<T>): Promise<T> {
  const queryRunner = dataSource.createQueryRunner();
  await queryRunner.connect();
  try {
    return await work(queryRunner);
  } finally {
    await queryRunner.release();
  }
}

export async function truncateAll(dataSource: DataSource): Promise<void> {
  await dataSource.query('TRUNCATE assessments, users RESTART IDENTITY CASCADE');
}
