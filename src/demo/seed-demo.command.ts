import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Command, Option } from 'nest-commander';
import { DataSource } from 'typeorm';
import { BaseCommand } from '../cli/base.command';
import { CommandFailedError, UsageError } from '../cli/cli-errors';
import { CliOutput } from '../cli/cli-output.service';
import { parseInteger } from '../cli/option-parsers';
import { PROCESS_ENV } from '../cli/process-env';
import { DatabaseConnection } from '../database/database-connection.service';
import { generateSampleAssessments, SAMPLE_SHAPES, SampleAssessment } from './sample-assessments';
import { SampleDataRepository } from './sample-data.repository';

export const DEFAULT_DEMO_COUNT = 150;
const INSERT_BATCH = 5000;

/** Loads the deterministic demo sample, replacing an earlier demo sample; never touches anyone else's rows. */
@Injectable()
export class DemoSeedService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly database: DatabaseConnection,
    private readonly output: CliOutput,
  ) {}

  async seed(count: number): Promise<void> {
    await this.database.open({ announceOn: 'stdout' });
    const queryRunner = this.dataSource.createQueryRunner();
    await queryRunner.connect();
    try {
      await queryRunner.startTransaction();
      const repository = new SampleDataRepository(queryRunner);
      const foreign = await repository.countForeignAssessments();
      if (foreign > 0) {
        throw new CommandFailedError(
          `Refusing to seed: the database already holds ${foreign} assessments that seed-demo did not make; use an empty database`,
        );
      }
      await repository.deleteDemoData();
      let batch: SampleAssessment[] = [];
      for (const sample of generateSampleAssessments({ count })) {
        batch.push(sample);
        if (batch.length === INSERT_BATCH) {
          await repository.insert(batch);
          batch = [];
        }
      }
      await repository.insert(batch);
      await queryRunner.commitTransaction();
      this.output.line(`Seeded ${count} demo assessments (covering ${SAMPLE_SHAPES.length} stored shapes)`);
    } catch (error) {
      if (queryRunner.isTransactionActive) await queryRunner.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await queryRunner.release();
    }
  }
}

interface SeedDemoOptions {
  count: number;
}

@Command({ name: 'seed-demo', description: 'Load a deterministic sample of legacy assessments (development only)' })
export class SeedDemoCommand extends BaseCommand {
  constructor(
    private readonly seeder: DemoSeedService,
    @Inject(PROCESS_ENV) private readonly env: NodeJS.ProcessEnv,
  ) {
    super();
  }

  async run(_parameters: string[], options: SeedDemoOptions): Promise<void> {
    if (this.env.NODE_ENV === 'production') {
      throw new UsageError('seed-demo is for development databases only; it refuses to run with NODE_ENV=production');
    }
    await this.seeder.seed(options.count);
  }

  @Option({ flags: '--count <n>', description: 'how many assessments', defaultValue: DEFAULT_DEMO_COUNT })
  parseCount(value: string): number {
    return parseInteger(value, '--count', 1, 10_000_000);
  }
}
