import type { EquipmentValue } from './equipment-rules';

export const REPORT_VERSION = 1;

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
  database: { host: string; port: number; name: string; user: string };
}

interface DetailBase {
  assessment_id: number;
  user_id: number;
  user_email: string;
  /** JSON text of the value as stored (the report embeds it verbatim). */
  original_equipment_json: string;
}

export type ReportDetail =
  | (DetailBase & { status: 'migrated'; new_equipment: EquipmentValue; items_cleared: boolean })
  | (DetailBase & { status: 'flagged'; reason: string; original_items_json: string; new_equipment: EquipmentValue })
  | (DetailBase & { status: 'error'; reason: string; original_items_json: string });
