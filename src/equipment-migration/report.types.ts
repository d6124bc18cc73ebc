export { REPORT_VERSION } from '../run-engine/report-version';
import type { EquipmentDistribution } from './assessment-migration.repository';
import type { EquipmentValue } from './equipment-rules';

export interface MigrationSummary {
  total_processed: number;
  migrated: number;
  flagged: number;
  skipped: number;
  errors: number;
}

export interface ReportRun {
  id: string;
  dry_run: boolean;
  started_at: string;
  finished_at: string;
  /** Hash of the ordered plan (see PlanFingerprint): what a reviewer passes to --expect-plan. */
  plan_fingerprint: string;
  database: { host: string; port: number; name: string; user: string };
}


/**
 * The fields every detail of the report file has (report.schema.json); skipped rows have no detail. A field another
 * status has is declared absent (`?: undefined`), so code reading any detail can ask for it.
 */
interface ReportDetailBase {
  assessment_id: number;
  user_id: number;
  /** null for an orphaned assessment (its user is gone). */
  user_email: string | null;
  /** The stored value as it was, or its JSON text when nested too deep (then original_equipment_as_text). */
  original_equipment: unknown;
  original_equipment_as_text?: true;
}

export interface MigratedDetail extends ReportDetailBase {
  status: 'migrated';
  new_equipment: EquipmentValue;
  items_cleared: boolean;
  reason?: undefined;
  original_items?: undefined;
  original_items_as_text?: undefined;
}

export interface FlaggedDetail extends ReportDetailBase {
  status: 'flagged';
  reason: string;
  original_items: unknown;
  original_items_as_text?: true;
  new_equipment: 'basic_equipment';
  items_cleared?: undefined;
}

export interface ErrorDetail extends ReportDetailBase {
  status: 'error';
  reason: string;
  original_items: unknown;
  original_items_as_text?: true;
  new_equipment?: undefined;
  items_cleared?: undefined;
}

export type ReportDetail = MigratedDetail | FlaggedDetail | ErrorDetail;

/** The `--save-report` file, as report.schema.json describes it. */
export interface MigrationReport {
  report_version: number;
  run: ReportRun;
  summary: MigrationSummary;
  distribution: { before: EquipmentDistribution; after: EquipmentDistribution };
  details: ReportDetail[];
}
