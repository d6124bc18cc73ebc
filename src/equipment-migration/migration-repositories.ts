import { Injectable } from '@nestjs/common';
import { EntityManager, QueryRunner } from 'typeorm';
import { MigrationRunRepository } from '../audit-store/migration-run.repository';
import { AssessmentMigrationRepository } from './assessment-migration.repository';

/**
 * Makes the migration's repositories for one transaction. A provider, so tests seam through Nest (override it to
 * interleave another session's update with a page, say) rather than through hooks in the service.
 */
@Injectable()
export class MigrationRepositories {
  /**
   * The page SQL on the transaction's connection; `runId` is the audit-trail run the writes are recorded under;
   * `reader`, when given, is where the keyset pages are read (see AssessmentMigrationRepository).
   */
  assessments(queryRunner: QueryRunner, runId: string, reader?: QueryRunner): AssessmentMigrationRepository {
    return new AssessmentMigrationRepository(queryRunner, runId, reader);
  }

  runs(manager: EntityManager): MigrationRunRepository {
    return new MigrationRunRepository(manager);
  }
}
