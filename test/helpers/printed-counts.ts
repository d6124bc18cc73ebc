import type { MigrationSummary } from '../../src/equipment-migration/report.types';

/** The heading of the report block a migration run prints on stdout. */
export const MIGRATION_REPORT_HEADING = '--- Migration Report ---';

const LABELS: Record<keyof MigrationSummary, string> = {
  total_processed: 'Total Processed',
  migrated: 'Migrated',
  flagged: 'Flagged for Re-assessment',
  skipped: 'Skipped (Already Valid)',
  errors: 'Errors',
};

/**
 * The five counts of the "--- Migration Report ---" block on stdout (a child's text or an in-process run's lines), in
 * the report file's terms. Throws, with the output, unless each count line is printed exactly once.
 */
export function printedCounts(stdout: string | readonly string[]): MigrationSummary {
  const lines = typeof stdout === 'string' ? stdout.split('\n') : stdout;
  const count = (label: string) => {
    const found = lines.filter((line) => line.startsWith(`${label}: `));
    if (found.length !== 1) throw new Error(`expected one "${label}:" line in:\n${lines.join('\n')}`);
    return Number(found[0].slice(label.length + 2));
  };
  return Object.fromEntries(Object.entries(LABELS).map(([key, label]) => [key, count(label)])) as unknown as MigrationSummary;
}

/** Whether a run printed its report block at all (a run locked out or refused prints none). */
export function printedReport(stdout: string | readonly string[]): boolean {
  const lines = typeof stdout === 'string' ? stdout.split('\n') : stdout;
  return lines.includes(MIGRATION_REPORT_HEADING);
}
