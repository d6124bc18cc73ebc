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
