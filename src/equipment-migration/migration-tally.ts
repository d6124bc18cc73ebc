import type { EquipmentDistribution } from './assessment-migration.repository';
import type { PlanDifferences, PlanFingerprint } from './plan-fingerprint';
import type { Classified, ListedError } from './report.service';
import type { MigrationSummary } from './report.types';

/** How many error rows the console lists before pointing at the report. */
export const MAX_LISTED_ERRORS = 20;

const CANONICAL_JSON = new Map<string, Exclude<keyof EquipmentDistribution, 'other'>>([
  ['"full_gym"', 'full_gym'],
  ['"basic_equipment"', 'basic_equipment'],
  ['"no_equipment"', 'no_equipment'],
]);

/** The distribution bucket of a stored equipment value, given as its JSON text. */
export function bucketOf(equipmentJson: string | null): keyof EquipmentDistribution {
  return CANONICAL_JSON.get(equipmentJson ?? '') ?? 'other';
}

/** Moves each written row from its old equipment value to its new one (`distribution` starts as before). */
export function moveDistribution(distribution: EquipmentDistribution, classified: Iterable<Classified>): void {
  for (const { row, outcome, storedEquipmentJson } of classified) {
    let now: keyof EquipmentDistribution;
    if (storedEquipmentJson !== undefined) now = bucketOf(storedEquipmentJson);
    else if (outcome.status === 'migrated' || outcome.status === 'flagged') now = outcome.newEquipment;
    else continue;
    distribution[bucketOf(row.equipmentJson)] -= 1;
    distribution[now] += 1;
  }
}

export function emptySummary(): MigrationSummary {
  return { total_processed: 0, migrated: 0, flagged: 0, skipped: 0, errors: 0 };
}

/**
 * What a run accumulates page by page, with no database or Nest in it: the counts, the first error rows, the
 * distribution after, the plan fingerprint and the differences from a reviewed plan (both optional).
 */
export class MigrationTally {
  readonly summary: MigrationSummary;
  readonly listedErrors: ListedError[] = [];
  readonly after: EquipmentDistribution;

  constructor(
    before: EquipmentDistribution,
    readonly plan?: PlanFingerprint,
    readonly differences?: PlanDifferences,
    start?: { summary: MigrationSummary; after: EquipmentDistribution },
  ) {
    this.summary = { ...(start?.summary ?? emptySummary()) };
    this.after = { ...(start?.after ?? before) };
  }

  add(classified: Classified[]): void {
    for (const { row, outcome } of classified) {
      if (outcome.status === 'migrated') this.summary.migrated += 1;
      else if (outcome.status === 'flagged') this.summary.flagged += 1;
      else if (outcome.status === 'error') {
        this.summary.errors += 1;
        if (this.listedErrors.length < MAX_LISTED_ERRORS) {
          this.listedErrors.push({ assessmentId: row.id, userEmail: row.userEmail, reason: outcome.reason });
        }
      }
    }
    this.plan?.add(classified);
    this.differences?.add(classified);
    moveDistribution(this.after, classified);
  }

  /** Rows the rules skip are recognised in SQL and never read: they are what the other outcomes leave of the scope. */
  close(total: number): MigrationSummary {
    this.summary.total_processed = total;
    this.summary.skipped = Math.max(0, total - this.summary.migrated - this.summary.flagged - this.summary.errors);
    return this.summary;
  }
}

/** How many of the scope's rows lie at or below `lastId`, estimated from the id range (skipped rows never leave the database). */
export function scopePosition(scope: { total: number; minId: number; maxId: number }, lastId: number, last: boolean): number {
  if (last) return scope.total;
  const span = scope.maxId - scope.minId + 1;
  return Math.min(scope.total, Math.max(0, Math.round(((lastId - scope.minId + 1) / span) * scope.total)));
}
