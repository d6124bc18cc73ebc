import { Injectable } from '@nestjs/common';
import { CliOutput } from '../cli/cli-output.service';
import type { CandidateRow, EquipmentDistribution } from './assessment-migration.repository';
import { EQUIPMENT_VALUES, EquipmentOutcome, EquipmentValue, FLAGGED_REASON } from './equipment-rules';
import { DETAIL_SEPARATOR } from '../run-engine/report-file.writer';
import { ascii, Utf8Builder } from '../run-engine/utf8-builder';
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
   * A page's details as JSON text (objects joined by DETAIL_SEPARATOR), fields in the guide's order; skipped rows have
   * none. Stored values are embedded as the database's own JSON text: exact, and never re-encoded (a row may hold
   * megabytes). A value nested deeper than MAX_EMBEDDED_DEPTH is embedded as a string holding that text, with a flag
   * (`original_equipment_as_text` / `original_items_as_text`), so jq and Python's json can still read the report.
   */
  serializeDetails(classified: Classified[]): string {
    const out = new Utf8Builder();
    this.encodeDetails(classified, out);
    return out.take().toString('utf8');
  }

  /**
   * serializeDetails, as UTF-8 bytes written into `out` (see Utf8Builder: the run's details never become strings).
   * `separated`: details precede these in the same text, so the first one here is preceded by the separator. Returns
   * whether any detail precedes what comes next.
   */
  encodeDetails(classified: Classified[], out: Utf8Builder, separated = false): boolean {
    let any = separated;
    for (const { row, outcome } of classified) {
      if (outcome.status === 'skipped') continue;
      if (any) out.bytes(PIECES.separator);
      any = true;
      out.bytes(PIECES.assessmentId);
      out.integer(row.id);
      out.bytes(PIECES.userId);
      out.integer(row.userId);
      out.bytes(PIECES.userEmail);
      jsonString(out, row.userEmail);
      out.bytes(PIECES.status[outcome.status]);
      switch (outcome.status) {
        case 'migrated':
          embedded(out, 'original_equipment', row.equipmentJson);
          out.bytes(PIECES.newEquipment[outcome.newEquipment]);
          out.bytes(outcome.itemsCleared ? PIECES.itemsClearedTrue : PIECES.itemsClearedFalse);
          break;
        case 'flagged':
          out.bytes(PIECES.flaggedReason); // the one reason a flagged row has
          embedded(out, 'original_equipment', row.equipmentJson);
          out.bytes(PIECES.comma);
          embedded(out, 'original_items', row.itemsJson);
          out.bytes(PIECES.newEquipment[outcome.newEquipment]);
          out.bytes(PIECES.close);
          break;
        case 'error':
          out.bytes(PIECES.reason);
          jsonString(out, outcome.reason);
          out.bytes(PIECES.comma);
          embedded(out, 'original_equipment', row.equipmentJson);
          out.bytes(PIECES.comma);
          embedded(out, 'original_items', row.itemsJson);
          out.bytes(PIECES.close);
          break;
      }
    }
    return any;
  }
}

/** The details' constant pieces, encoded once. */
const PIECES = {
  separator: ascii(DETAIL_SEPARATOR),
  assessmentId: ascii('{"assessment_id":'),
  userId: ascii(',"user_id":'),
  userEmail: ascii(',"user_email":'),
  status: {
    migrated: ascii(',"status":"migrated",'),
    flagged: ascii(',"status":"flagged",'),
    error: ascii(',"status":"error",'),
  },
  newEquipment: Object.fromEntries(EQUIPMENT_VALUES.map((value) => [value, ascii(`,"new_equipment":${JSON.stringify(value)}`)])) as Record<
    EquipmentValue,
    Uint8Array
  >,
  itemsClearedTrue: ascii(',"items_cleared":true}'),
  itemsClearedFalse: ascii(',"items_cleared":false}'),
  flaggedReason: ascii(`"reason":${JSON.stringify(FLAGGED_REASON)},`),
  reason: ascii('"reason":'),
  comma: ascii(','),
  close: ascii('}'),
  null: ascii('null'),
  field: {
    original_equipment: ascii('"original_equipment":'),
    original_items: ascii('"original_items":'),
  },
  asText: {
    original_equipment: ascii(',"original_equipment_as_text":true'),
    original_items: ascii(',"original_items_as_text":true'),
  },
};

/** A string (or null) as JSON; the common case copied as it is, without a JSON.stringify copy. */
function jsonString(out: Utf8Builder, value: string | null): void {
  if (value === null) out.bytes(PIECES.null);
  else if (!out.plainJsonString(value)) out.text(JSON.stringify(value));
}

/**
 * `"field":<stored JSON text>` (SQL NULL: null), or, for a value nested too deep for common readers, its text as a
 * string and a flag.
 */
function embedded(out: Utf8Builder, field: 'original_equipment' | 'original_items', stored: string | null): void {
  const json = stored ?? 'null';
  out.bytes(PIECES.field[field]);
  if (!nestsDeeperThan(json, MAX_EMBEDDED_DEPTH)) return out.text(json);
  jsonString(out, json);
  out.bytes(PIECES.asText[field]);
}
