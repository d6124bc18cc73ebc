import { Injectable } from '@nestjs/common';
import { CliOutput } from '../cli/cli-output.service';
import type { CandidateRow, EquipmentDistribution } from './assessment-migration.repository';
import { EquipmentOutcome, FLAGGED_REASON } from './equipment-rules';
import { DETAIL_SEPARATOR } from '../run-engine/report-file.writer';
import { MAX_EMBEDDED_DEPTH, nestsDeeperThan } from './json-depth';
import { emptySummary } from './migration-tally';
import { MigrationSummary, ReportRun, REPORT_VERSION } from './report.types';

export { MAX_LISTED_ERRORS } from './migration-tally';

/** One candidate row and its outcome. */
export interface Classified {
  row: CandidateRow;
  outcome: EquipmentOutcome;
  /** Set when the database stored another equipment value than the rules decided (a trigger): the value it holds. */
  storedEquipmentJson?: string | null;
}

export interface ListedError {
  assessmentId: number;
  /** null for an orphaned assessment (its user is gone). */
  userEmail: string | null;
  reason: string;
}

/** Builds and prints the migration report: the guide's console lines and the JSON file's parts. */
@Injectable()
export class ReportService {
  constructor(private readonly output: CliOutput) {}

  emptySummary(): MigrationSummary {
    return emptySummary();
  }

  /** The guide's report block, letter for letter. */
  summaryLines(summary: MigrationSummary): string[] {
    return [
      '--- Migration Report ---',
      `Total Processed: ${summary.total_processed}`,
      `Migrated: ${summary.migrated}`,
      `Flagged for Re-assessment: ${summary.flagged}`,
      `Skipped (Already Valid): ${summary.skipped}`,
      `Errors: ${summary.errors}`,
    ];
  }

  /** Error rows on the console: the first MAX_LISTED_ERRORS, then a pointer to the rest. */
  errorLines(listed: ListedError[], total: number, reportSaved: boolean): string[] {
    const lines = listed.map((e) => `Error in assessment ${e.assessmentId} (${e.userEmail ?? 'no user'}): ${e.reason}`);
    if (total > listed.length) {
      const rest = total - listed.length;
      lines.push(
        reportSaved ? `... and ${rest} more (see the report)` : `... and ${rest} more (run with --save-report to see them all)`,
      );
    }
    return lines;
  }

  /** The before → after table, e.g. `  full_gym          410 → 1,230`. */
  distributionLines(before: EquipmentDistribution, after: EquipmentDistribution): string[] {
    const n = (value: number) => value.toLocaleString('en-US');
    const keys = ['full_gym', 'basic_equipment', 'no_equipment', 'other'] as const;
    const left = Math.max(...keys.map((k) => n(before[k]).length));
    const right = Math.max(...keys.map((k) => n(after[k]).length));
    return [
      'Equipment before → after:',
      ...keys.map((k) => `  ${(k === 'other' ? 'legacy or invalid' : k).padEnd(17)} ${n(before[k]).padStart(left)} → ${n(after[k]).padStart(right)}`),
    ];
  }

  printSummary(summary: MigrationSummary): void {
    this.output.line();
    for (const line of this.summaryLines(summary)) this.output.line(line);
    this.output.line();
  }

  /** The report file's fields before "details". */
  head(run: ReportRun, summary: MigrationSummary, distribution: { before: EquipmentDistribution; after: EquipmentDistribution }): Record<string, unknown> {
    return { report_version: REPORT_VERSION, run, summary, distribution };
  }

  /**
   * A page's details as JSON text (objects joined by commas), fields in the guide's order; skipped rows have none.
   * Stored values are embedded as the database's own JSON text: exact, and never re-encoded (a row may hold megabytes).
   * A value nested deeper than MAX_EMBEDDED_DEPTH is embedded as a string holding that text, with a flag
   * (`original_equipment_as_text` / `original_items_as_text`), so jq and Python's json can still read the report.
   */
  serializeDetails(classified: Classified[]): string {
    // One string grown in place (no array of parts joined and copied again): at 1,000,000 rows the report's details
    // were a third of everything the run allocated.
    let json = '';
    for (const { row, outcome } of classified) {
      if (outcome.status === 'skipped') continue;
      if (json !== '') json += DETAIL_SEPARATOR;
      json += `{"assessment_id":${row.id},"user_id":${row.userId},"user_email":${row.userEmail == null ? 'null' : JSON.stringify(row.userEmail)},"status":"${outcome.status}",`;
      switch (outcome.status) {
        case 'migrated':
          json += embedded('original_equipment', row.equipmentJson ?? 'null');
          json += `,"new_equipment":"${outcome.newEquipment}","items_cleared":${outcome.itemsCleared}}`;
          break;
        case 'flagged':
          json += `"reason":${FLAGGED_REASON_JSON},`; // the one reason a flagged row has
          json += embedded('original_equipment', row.equipmentJson ?? 'null');
          json += ',';
          json += embedded('original_items', row.itemsJson ?? 'null');
          json += `,"new_equipment":"${outcome.newEquipment}"}`;
          break;
        case 'error':
          json += `"reason":${JSON.stringify(outcome.reason)},`;
          json += embedded('original_equipment', row.equipmentJson ?? 'null');
          json += ',';
          json += embedded('original_items', row.itemsJson ?? 'null');
          json += '}';
          break;
      }
    }
    return json;
  }
}

const FLAGGED_REASON_JSON = JSON.stringify(FLAGGED_REASON);

/** `"field":<stored JSON text>`, or, for a value nested too deep for common readers, its text as a string and a flag. */
function embedded(field: 'original_equipment' | 'original_items', json: string): string {
  return nestsDeeperThan(json, MAX_EMBEDDED_DEPTH) ? `"${field}":${JSON.stringify(json)},"${field}_as_text":true` : `"${field}":${json}`;
}
