import { EntityManager } from 'typeorm';
import { assessmentColumns } from '../database/assessment-columns';
import { StatementQueue } from '../database/statement-queue';
import { changeColumns, errorColumns } from './change-columns';

/** An assessment's equipment answer as a run reads it (and records it): jsonb as its JSON text, so reports quote it exactly. */
export interface AssessmentValues {
  id: number;
  userId: number;
  /** null when the assessment's user is gone (an orphaned row: the email is a LEFT JOIN). */
  userEmail: string | null;
  equipmentJson: string | null;
  /** null for SQL NULL (a nullable column in a drifted schema); the rules treat it as JSON null, "no items". */
  itemsJson: string | null;
  reassessmentRequired: boolean;
}

/**
 * One row a run recorded, as its report names it: from its change (the values before the run wrote it) and, for an
 * error row, its recorded error. A row with both was written, and the database stored other values (a trigger).
 */
export interface RecordedRow extends AssessmentValues {
  /** The error the run reported for this row, if any. */
  errorReason?: string;
  /** What the run stored, for a row it wrote (its change's new equipment, as JSON text). */
  storedEquipmentJson?: string | null;
}

/** Reads a run's changes and error rows back, merged in assessment-id order, a page of each at a time. */
export class RecordedRunReader {
  /** One statement at a time (the manager may be a transaction's single connection), the next page read ahead. */
  private readonly statements = new StatementQueue();

  constructor(private readonly manager: EntityManager) {}

  async *pages(runId: string, pageSize: number): AsyncGenerator<RecordedRow[]> {
    const changes = new Cursor((after) => this.statements.run(() => this.changes(runId, after, pageSize)), pageSize);
    const errors = new Cursor((after) => this.statements.run(() => this.errors(runId, after, pageSize)), pageSize);
    await Promise.all([changes.fill(), errors.fill()]);
    while (changes.rows.length > 0 || errors.rows.length > 0) {
      // Merge up to the lower of the two cursors' horizons: beyond it, the other table's next page may hold rows.
      const upTo = Math.min(changes.horizon, errors.horizon);
      const merged = new Map<number, RecordedRow>();
      for (const change of changes.take(upTo)) merged.set(change.id, change);
      for (const error of errors.take(upTo)) {
        const change = merged.get(error.id);
        merged.set(error.id, { ...error, storedEquipmentJson: change ? change.storedEquipmentJson : undefined });
      }
      if (merged.size > 0) yield [...merged.values()].sort((a, b) => a.id - b.id);
      await Promise.all([changes.fill(), errors.fill()]);
    }
  }

  private changes(runId: string, afterId: number | null, limit: number): Promise<RecordedRow[]> {
    const c = changeColumns(this.manager.connection);
    const a = assessmentColumns(this.manager.connection);
    // Changes recorded before user ids were kept take the assessment's user, if it is still there.
    // The keyset page is cut from the primary key first (run_id, assessment_id), then joined: with the joins in the same
    // query the planner misjudges the run's row count and sorts everything after the cursor, for every page.
    return this.manager.query(
      `SELECT c.${c.assessmentId} AS id, COALESCE(c.${c.userId}, x.${a.userId}) AS "userId", u.email AS "userEmail",
              c.${c.previousEquipment}::text AS "equipmentJson", c.${c.previousItems}::text AS "itemsJson",
              c.${c.previousFlag} AS "reassessmentRequired", c.${c.newEquipment}::text AS "storedEquipmentJson"
         FROM (
           SELECT * FROM ${c.table}
            WHERE ${c.runId} = $1 AND ($2::bigint IS NULL OR ${c.assessmentId} > $2::bigint)
            ORDER BY ${c.runId}, ${c.assessmentId} LIMIT $3
         ) AS c
         LEFT JOIN ${a.table} AS x ON c.${c.userId} IS NULL AND x.${a.id} = c.${c.assessmentId}
         -- A primary-key lookup per row (OFFSET 0 keeps it one): a join on the COALESCE would scan every user per page.
         LEFT JOIN LATERAL (
           SELECT ${a.usersEmail} AS email FROM ${a.users} WHERE ${a.usersId} = COALESCE(c.${c.userId}, x.${a.userId}) OFFSET 0
         ) AS u ON true
        ORDER BY c.${c.assessmentId}`,
      [runId, afterId, limit],
    );
  }

  private errors(runId: string, afterId: number | null, limit: number): Promise<RecordedRow[]> {
    const e = errorColumns(this.manager.connection);
    return this.manager.query(
      `SELECT ${e.assessmentId} AS id, ${e.userId} AS "userId", ${e.userEmail} AS "userEmail", ${e.reason} AS "errorReason",
              ${e.originalEquipment}::text AS "equipmentJson", ${e.originalItems}::text AS "itemsJson", false AS "reassessmentRequired"
         FROM ${e.table}
        WHERE ${e.runId} = $1 AND ($2::bigint IS NULL OR ${e.assessmentId} > $2::bigint)
        ORDER BY ${e.runId}, ${e.assessmentId} LIMIT $3`,
      [runId, afterId, limit],
    );
  }
}

/**
 * A keyset cursor over one table: `rows` read and not yet taken; `horizon` the id up to which it has read everything.
 * The page after a full one is read ahead, so the database reads it while the caller reports the current one.
 */
class Cursor {
  rows: RecordedRow[] = [];
  private last: number | null = null;
  private done = false;
  private ahead?: Promise<RecordedRow[]>;

  constructor(
    private readonly read: (afterId: number | null) => Promise<RecordedRow[]>,
    private readonly pageSize: number,
  ) {}

  get horizon(): number {
    return this.done ? Infinity : (this.last ?? -Infinity);
  }

  /** Reads the next page once every row read so far has been taken. */
  async fill(): Promise<void> {
    if (this.done || this.rows.length > 0) return;
    const page = await (this.ahead ?? this.read(this.last));
    this.ahead = undefined;
    this.rows = page;
    if (page.length > 0) this.last = page[page.length - 1].id;
    if (page.length < this.pageSize) this.done = true;
    else {
      this.ahead = this.read(this.last);
      this.ahead.catch(() => undefined); // awaited by the next fill; never an unhandled rejection meanwhile
    }
  }

  take(upTo: number): RecordedRow[] {
    const taken = this.rows.filter((row) => row.id <= upTo);
    this.rows = this.rows.filter((row) => row.id > upTo);
    return taken;
  }
}
