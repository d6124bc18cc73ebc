import { createHash, Hash } from 'node:crypto';
import type { Classified } from './report.service';

/**
 * A hash over the ordered plan: (assessment id, outcome, values written) for every row the run does not skip.
 * The same data gives the same fingerprint in a dry run and in a real run, whatever the batch size; any change to
 * the data that changes what would be written changes it.
 */
export class PlanFingerprint {
  private readonly hash: Hash = createHash('sha256');
  private rows = 0;

  /** Adds a page's classified rows, in id order. */
  add(classified: Classified[]): void {
    let text = '';
    for (const { row, outcome } of classified) {
      if (outcome.status === 'skipped') continue;
      text +=
        outcome.status === 'error'
          ? `${row.id}:error\n`
          : `${row.id}:${outcome.status}:${outcome.write.equipment}:${outcome.write.items}:${outcome.write.reassessmentRequired}\n`;
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

/** What a reviewed dry run planned, from its fingerprint and, when given its report, each row's outcome and value. */
export class ReviewedPlan {
  private constructor(
    readonly fingerprint: string,
    /** assessment id → "outcome:new value", from the dry run's report details; undefined with a bare fingerprint. */
    private readonly rows?: Map<number, string>,
  ) {}

  static fromFingerprint(fingerprint: string): ReviewedPlan {
    return new ReviewedPlan(fingerprint);
  }

  /** From a dry run's parsed report (`run.plan_fingerprint` and `details`). */
  static fromReport(report: { run?: { plan_fingerprint?: unknown }; details?: unknown }): ReviewedPlan | undefined {
    const fingerprint = report.run?.plan_fingerprint;
    if (typeof fingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(fingerprint) || !Array.isArray(report.details)) return undefined;
    const rows = new Map<number, string>();
    for (const detail of report.details as unknown[]) {
      // A hand-edited or truncated report is not a reviewed plan: refused (exit 2), never a crash mid-run.
      if (!isDetail(detail)) return undefined;
      rows.set(detail.assessment_id, `${detail.status}:${detail.new_equipment ?? ''}`);
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

  /** Counts, page by page, the rows whose outcome or new value differs from the review (when the review has rows). */
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

  /** Rows that differ: changed outcome or value, newly planned, or planned in the review and no longer. */
  get count(): number {
    return this.differing + this.reviewed.size;
  }
}

function isDetail(value: unknown): value is { assessment_id: number; status: string; new_equipment?: string } {
  if (typeof value !== 'object' || value === null) return false;
  const detail = value as Record<string, unknown>;
  return (
    Number.isSafeInteger(detail.assessment_id) &&
    typeof detail.status === 'string' &&
    (detail.new_equipment === undefined || typeof detail.new_equipment === 'string')
  );
}

/** A row's plan as a review compares it (the same text as the review's entry for that row). */
function reviewKey({ outcome }: Classified): string {
  return `${outcome.status}:${outcome.status === 'error' || outcome.status === 'skipped' ? '' : outcome.newEquipment}`;
}
