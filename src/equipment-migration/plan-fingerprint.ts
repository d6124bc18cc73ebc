import { createHash, Hash } from 'node:crypto';
import type { EquipmentOutcome } from './equipment-rules';
import type { Classified } from './report.service';

/**
 * A hash over the ordered plan: (assessment id, outcome, values written) for every row the run does not skip.
 * The same data gives the same fingerprint in a dry run and in a real run, whatever the batch size; any change to
 * the data that changes what would be written changes it.
 */
export class PlanFingerprint {
  private readonly hash: Hash = createHash('sha256');
  private rows = 0;

  /** Adds a page's classified rows, in id order: `id:error` or `id:status:equipment:items:flag`, a line each. */
  add(classified: Classified[]): void {
    let text = '';
    for (const { row, outcome } of classified) {
      if (outcome.status === 'skipped') continue;
      text += row.id + planLineEnd(outcome);
      this.rows += 1;
    }
    this.hash.update(text);
  }

  /** Rows in the plan (every row that is not skipped). */
  get size(): number {
    return this.rows;
  }

  /** The hex digest; call once, at the end. */
  digest(): string {
    return this.hash.digest('hex');
  }
}

/** A plan line after the id; remembered for outcomes shared between rows (OutcomeCache), so a row adds one string. */
const lineEnds = new WeakMap<EquipmentOutcome, string>();
function planLineEnd(outcome: EquipmentOutcome): string {
  let end = lineEnds.get(outcome);
  if (end === undefined) {
    end =
      outcome.status === 'migrated' || outcome.status === 'flagged'
        ? `:${outcome.status}:${outcome.write.equipment}:${outcome.write.items}:${outcome.write.reassessmentRequired}\n`
        : `:${outcome.status}\n`;
    lineEnds.set(outcome, end);
  }
  return end;
}

/**
 * What a reviewed dry run planned, from its fingerprint and, when given its report, each row's planned write as far as
 * the report carries it: outcome, new value, whether items are cleared (a migrated row's `items_cleared`; a flagged
 * row clears null items, see EquipmentRules) and the flag a flagged row sets. Not carried: the reassessment flag a
 * migrated row keeps, which the fingerprint also hashes.
 */
export class ReviewedPlan {
  private constructor(
    readonly fingerprint: string,
    /** assessment id → plannedWrite(...), from the dry run's report details; undefined with a bare fingerprint. */
    private readonly rows?: Map<number, string>,
  ) {}

  static fromFingerprint(fingerprint: string): ReviewedPlan {
    return new ReviewedPlan(fingerprint);
  }

  /** From a dry run's parsed report (`run.plan_fingerprint` and `details`). */
  static fromReport(report: unknown): ReviewedPlan | undefined {
    if (typeof report !== 'object' || report === null) return undefined;
    const { run, details } = report as { run?: { plan_fingerprint?: unknown } | null; details?: unknown };
    const fingerprint = typeof run === 'object' && run !== null ? run.plan_fingerprint : undefined;
    if (typeof fingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(fingerprint) || !Array.isArray(details)) return undefined;
    const rows = new Map<number, string>();
    for (const detail of details as unknown[]) {
      // A hand-edited or truncated report is not a reviewed plan: refused (exit 2), never a crash mid-run.
      const planned = reportedWrite(detail);
      if (planned === undefined) return undefined;
      rows.set((detail as { assessment_id: number }).assessment_id, planned);
    }
    return new ReviewedPlan(fingerprint, rows);
  }

  /** Whether the review lists each row's plan (a dry run's report), not only the fingerprint. */
  get hasRows(): boolean {
    return this.rows !== undefined;
  }

  /**
   * An online run's page check: the ids, among the page's rows and the review's rows with ids in (afterId, lastId]
   * (above afterId for the last page), whose plan differs from the review's: changed, newly planned, or gone.
   */
  differingUpTo(classified: Classified[], afterId: number, lastId: number, last: boolean): number[] {
    if (!this.rows) return [];
    const differing = new Set<number>();
    const planned = new Set<number>();
    for (const item of classified) {
      if (item.outcome.status === 'skipped') continue;
      planned.add(item.row.id);
      if (this.rows.get(item.row.id) !== reviewKey(item)) differing.add(item.row.id);
    }
    for (const id of this.rows.keys()) {
      if (id > afterId && (last || id <= lastId) && !planned.has(id)) differing.add(id);
    }
    return [...differing].sort((a, b) => a - b);
  }

  /** Counts, page by page, the rows whose planned write differs from the review (when the review has rows). */
  differences(): PlanDifferences | undefined {
    return this.rows ? new PlanDifferences(new Map(this.rows)) : undefined;
  }
}

export class PlanDifferences {
  private differing = 0;

  constructor(private readonly reviewed: Map<number, string>) {}

  add(classified: Classified[]): void {
    for (const item of classified) {
      if (item.outcome.status === 'skipped') continue;
      if (this.reviewed.get(item.row.id) !== reviewKey(item)) this.differing += 1;
      this.reviewed.delete(item.row.id);
    }
  }

  /** Rows that differ: changed outcome or written values, newly planned, or planned in the review and no longer. */
  get count(): number {
    return this.differing + this.reviewed.size;
  }

  /** How the plan differs, for the failure line (the fingerprints already differ). */
  describe(): string {
    if (this.count > 0) return `in ${this.count} rows (outcome or value changed, rows added or gone)`;
    // Only what the report does not carry can differ: the fingerprint also hashes the flag a migrated row keeps.
    return 'only in the reassessment flag of rows it migrates, which the report does not record (no row differs in outcome, value or items)';
  }
}

/**
 * One row's planned write as the review and the run compare it: `status:equipment:items:flag`, with the migrated
 * row's kept flag left out (its report detail does not carry it).
 */
function plannedWrite(status: 'error'): string;
function plannedWrite(status: 'migrated' | 'flagged', equipment: string, items: 'keep' | 'clear', flag: boolean): string;
function plannedWrite(status: string, equipment?: string, items?: 'keep' | 'clear', flag?: boolean): string {
  if (status === 'error') return 'error';
  return status === 'flagged' ? `flagged:${equipment}:${items}:${flag}` : `migrated:${equipment}:${items}`;
}

/** A report detail's planned write, or undefined when the detail is not one the tool writes. */
function reportedWrite(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const detail = value as Record<string, unknown>;
  if (!Number.isSafeInteger(detail.assessment_id)) return undefined;
  switch (detail.status) {
    case 'error':
      return plannedWrite('error');
    case 'migrated':
      if (typeof detail.new_equipment !== 'string' || typeof detail.items_cleared !== 'boolean') return undefined;
      return plannedWrite('migrated', detail.new_equipment, detail.items_cleared ? 'clear' : 'keep', false);
    case 'flagged':
      // The rules clear null items when flagging (JSON null or SQL NULL, both reported as null) and keep [] as it is.
      if (typeof detail.new_equipment !== 'string' || !('original_items' in detail)) return undefined;
      return plannedWrite('flagged', detail.new_equipment, detail.original_items === null ? 'clear' : 'keep', true);
    default:
      return undefined;
  }
}

/** A row's plan as a review compares it (the same text as reportedWrite gives for the review's entry for that row). */
function reviewKey({ outcome }: Classified): string {
  if (outcome.status === 'skipped') return 'skipped';
  if (outcome.status === 'error') return plannedWrite('error');
  return plannedWrite(outcome.status, outcome.write.equipment, outcome.write.items, outcome.write.reassessmentRequired);
}
