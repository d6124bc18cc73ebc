import { EntityManager } from 'typeorm';
import { RecordedRow, RecordedRunReader } from '../audit-store/recorded-run.reader';
import { EquipmentDistribution } from './assessment-migration.repository';
import { classifyRow } from './migration-pages';
import { MigrationTally } from './migration-tally';
import { PlanFingerprint } from './plan-fingerprint';
import { Classified, ReportService } from './report.service';

const PAGE_SIZE = 5000;

/**
 * A run's report built again from the database: its changes (the rules decide each row again from the values it
 * held before the run, and decide it as the run did: they are pure) and its recorded error rows. This is how an online
 * run's report covers the whole run across resumes, and how `migration-runs <id> --save-report` writes any recorded
 * run's report; the plan fingerprint comes out the same as the run's own.
 */
export class RecordedReport {
  constructor(
    private readonly manager: EntityManager,
    private readonly report: ReportService,
  ) {}

  /** Tallies the run's rows in id order, handing each page's report details to `details` (when given). */
  async tally(runId: string, before: EquipmentDistribution, details?: (json: string) => void): Promise<MigrationTally> {
    const tally = new MigrationTally(before, new PlanFingerprint());
    for await (const page of new RecordedRunReader(this.manager).pages(runId, PAGE_SIZE)) {
      const classified = page.map(asClassified);
      tally.add(classified);
      const json = details && this.report.serializeDetails(classified);
      if (json) details!(json);
    }
    return tally;
  }
}

function asClassified(recorded: RecordedRow): Classified {
  const row = {
    id: recorded.id,
    userId: recorded.userId,
    userEmail: recorded.userEmail,
    equipmentJson: recorded.equipmentJson,
    itemsJson: recorded.itemsJson,
    reassessmentRequired: recorded.reassessmentRequired,
    version: '',
    location: '',
  };
  if (recorded.errorReason !== undefined && recorded.errorReason !== null) {
    return {
      row,
      outcome: { status: 'error', reason: recorded.errorReason },
      ...(recorded.storedEquipmentJson !== undefined ? { storedEquipmentJson: recorded.storedEquipmentJson } : {}),
    };
  }
  return classifyRow(row);
}
