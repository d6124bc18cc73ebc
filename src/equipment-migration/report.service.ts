import { Injectable } from '@nestjs/common';
import { CliOutput } from '../cli/cli-output.service';
import { MigrationSummary, ReportDetail, ReportRun, REPORT_VERSION } from './report.types';

/** How many error rows the console lists before pointing at the report. */
export const MAX_LISTED_ERRORS = 20;

export interface ListedError {
  assessmentId: number;
  userEmail: string;
  reason: string;
}

/** Builds and prints the migration report: the guide's console lines and the JSON file's parts. */
@Injectable()
export class ReportService {
  constructor(private readonly output: CliOutput) {}

  emptySummary(): MigrationSummary {
    return { total_processed: 0, migrated: 0, flagged: 0, skipped: 0, errors: 0 };
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
    const lines = listed.map((e) => `Error in assessment ${e.assessmentId} (${e.userEmail}): ${e.reason}`);
    if (total > listed.length) {
      const rest = total - listed.length;
      lines.push(
        reportSaved ? `... and ${rest} more (see the report)` : `... and ${rest} more (run with --save-report to see them all)`,
      );
    }
    return lines;
  }

  printSummary(summary: MigrationSummary): void {
    this.output.line();
    for (const line of this.summaryLines(summary)) this.output.line(line);
    this.output.line();
  }

  /** The report file's fields before "details". */
  head(run: ReportRun, summary: MigrationSummary): Record<string, unknown> {
    return { report_version: REPORT_VERSION, run, summary };
  }

  /**
   * One detail as JSON text, fields in the guide's order. The stored values are embedded as the database's own JSON
   * text: exact, and never re-encoded (a row may hold megabytes).
   */
  serializeDetail(detail: ReportDetail): string {
    const head = `{"assessment_id":${detail.assessment_id},"user_id":${detail.user_id},"user_email":${JSON.stringify(detail.user_email)},"status":"${detail.status}"`;
    switch (detail.status) {
      case 'migrated':
        return `${head},"original_equipment":${detail.original_equipment_json},"new_equipment":"${detail.new_equipment}","items_cleared":${detail.items_cleared}}`;
      case 'flagged':
        return `${head},"reason":${JSON.stringify(detail.reason)},"original_equipment":${detail.original_equipment_json},"original_items":${detail.original_items_json},"new_equipment":"${detail.new_equipment}"}`;
      case 'error':
        return `${head},"reason":${JSON.stringify(detail.reason)},"original_equipment":${detail.original_equipment_json},"original_items":${detail.original_items_json}}`;
    }
  }
}
