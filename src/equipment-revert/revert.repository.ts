import { QueryRunner } from 'typeorm';
import { AssessmentColumns, assessmentColumns } from '../database/assessment-columns';
import { WriteStatement, writeIsolatingRefusals } from '../database/isolated-write';
import { inlineValues } from '../database/sql-literals';
import { ChangeColumns, changeColumns } from '../audit-store/change-columns';

/** One row a migration run changed, with what it holds now. jsonb as PostgreSQL's text: equal values, equal text. */
export interface RecordedChange {
  id: number;
  previousEquipment: string | null;
  /** null: the row held SQL NULL items (recorded exactly, restored exactly). */
  previousItems: string | null;
  previousFlag: boolean;
  wroteEquipment: string | null;
  wroteItems: string | null;
  wroteFlag: boolean;
  present: boolean;
  currentEquipment: string | null;
  currentItems: string | null;
  currentFlag: boolean | null;
  version: string | null;
}

/** The SQL of an exact undo: read a run's recorded changes page by page, restore the rows that still hold its values. */
export class RevertRepository {
  private readonly a: AssessmentColumns;
  private readonly c: ChangeColumns;

  constructor(
    private readonly queryRunner: QueryRunner,
    /** The migration run being reverted. */
    private readonly revertedRunId: string,
    /** The revert's own run, under which the restored rows are recorded. */
    private readonly revertRunId: string,
  ) {
    this.a = assessmentColumns(queryRunner.connection);
    this.c = changeColumns(queryRunner.connection);
  }

  /** How many rows the run changed, and its lowest and highest assessment id: the keyset covers exactly those. */
  async countChanges(): Promise<{ total: number; minId: number; maxId: number }> {
    const { c } = this;
    const [row] = await this.queryRunner.query(
      `SELECT count(*)::int AS total, COALESCE(min(${c.assessmentId}), 0) AS "minId", COALESCE(max(${c.assessmentId}), 0) AS "maxId"
         FROM ${c.table} WHERE ${c.runId} = $1`,
      [this.revertedRunId],
    );
    return row;
  }

  private select(where: string, lock = ''): string {
    const { a, c } = this;
    return `SELECT c.${c.assessmentId} AS id,
              c.${c.previousEquipment}::text AS "previousEquipment", c.${c.previousItems}::text AS "previousItems",
              c.${c.previousFlag} AS "previousFlag",
              c.${c.newEquipment}::text AS "wroteEquipment", c.${c.newItems}::text AS "wroteItems", c.${c.newFlag} AS "wroteFlag",
              x.id IS NOT NULL AS present, x.equipment AS "currentEquipment", x.items AS "currentItems", x.flag AS "currentFlag",
              x.version
         FROM ${c.table} AS c
         LEFT JOIN LATERAL (
           SELECT a.${a.id} AS id, a.${a.equipment}::text AS equipment, a.${a.items}::text AS items, a.${a.flag} AS flag,
                  a.xmin::text AS version
             FROM ${a.table} AS a WHERE a.${a.id} = c.${c.assessmentId} ${lock}
         ) AS x ON true
        WHERE c.${c.runId} = $1 AND ${where}
        ORDER BY c.${c.assessmentId}`;
  }

  /**
   * The next keyset page of the run's changes (ids above `afterId`). The bound is bigint: the first page starts below
   * the run's lowest id, which may be -2147483648 itself.
   */
  readPage(afterId: number, pageSize: number): Promise<RecordedChange[]> {
    return this.queryRunner.query(`${this.select(`c.${this.c.assessmentId} > $2::bigint`)} LIMIT $3`, [this.revertedRunId, afterId, pageSize]);
  }

  /** Re-reads changes whose rows moved under the revert, locking the rows. */
  rereadLocked(ids: number[]): Promise<RecordedChange[]> {
    return this.queryRunner.query(this.select(`c.${this.c.assessmentId} = ANY($2::int[])`, 'FOR UPDATE'), [this.revertedRunId, ids]);
  }

  /**
   * Restores the given rows to their recorded previous values, each only if it is still the version read, and
   * records the revert's own changes, in one statement (under a savepoint: rows the database refuses are set apart
   * in `refused`, the others restored). Returns the ids restored.
   */
  restore(rows: { id: number; version: string }[], refused: Map<number, string>): Promise<Set<number>> {
    return writeIsolatingRefusals(this.queryRunner, rows, (part) => this.restoreAll(part), refused);
  }

  private restoreAll(rows: { id: number; version: string }[]): WriteStatement {
    const { a, c } = this;
    return {
      sql: inlineValues(
        `WITH w AS (SELECT * FROM unnest($1::int[], $2::xid[]) AS w(id, version)),
            recorded AS (SELECT c.* FROM ${c.table} AS c JOIN w ON c.${c.assessmentId} = w.id WHERE c.${c.runId} = $3),
            before AS (
              SELECT a.${a.id} AS id, a.${a.equipment} AS equipment, a.${a.items} AS items, a.${a.flag} AS flag
                FROM ${a.table} AS a JOIN w ON a.${a.id} = w.id
            ),
            restored AS (
              UPDATE ${a.table} AS a
                 SET ${a.equipment} = recorded.${c.previousEquipment},
                     ${a.items} = recorded.${c.previousItems},
                     ${a.flag} = recorded.${c.previousFlag},
                     ${a.updatedAt} = now()
                FROM w JOIN recorded ON recorded.${c.assessmentId} = w.id
               WHERE a.${a.id} = w.id AND a.xmin = w.version
              RETURNING a.${a.id} AS id, a.${a.equipment} AS equipment, a.${a.items} AS items, a.${a.flag} AS flag
            ),
            audit AS (
              INSERT INTO ${c.table} (${c.runId}, ${c.assessmentId}, ${c.previousEquipment}, ${c.previousItems}, ${c.previousFlag},
                                      ${c.newEquipment}, ${c.newItems}, ${c.newFlag})
              SELECT $4::uuid, restored.id, before.equipment, before.items, before.flag, restored.equipment, restored.items, restored.flag
                FROM restored JOIN before ON before.id = restored.id
            )
       SELECT id FROM restored`,
        [`{${rows.map((r) => r.id).join(',')}}`, `{${rows.map((r) => r.version).join(',')}}`, this.revertedRunId, this.revertRunId],
      ),
      written: (restored) => new Set(restored.map((r) => r.id as number)),
    };
  }
}
