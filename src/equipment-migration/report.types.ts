export { REPORT_VERSION } from '../run-engine/report-version';

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

