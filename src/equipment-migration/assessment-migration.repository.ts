import { QueryRunner, SelectQueryBuilder } from 'typeorm';
import { Assessment } from '../entities/assessment.entity';
import { writeIsolatingRefusals } from '../database/isolated-write';
import { ChangeColumns, changeColumns, ErrorColumns, errorColumns } from '../audit-store/change-columns';
import type { Classified } from './report.service';
import { AssessmentColumns, assessmentColumns } from '../database/assessment-columns';
import { canonicalAndConsistent } from './skip-predicate';
import { EquipmentValue } from './equipment-rules';

/** One candidate row as the migration reads it. jsonb columns arrive as their JSON text, so reports quote them exactly. */
export interface CandidateRow {
  id: number;
  userId: number;
  /** null when the assessment's user is gone (an orphaned row: the email is a LEFT JOIN). */
  userEmail: string | null;
  equipmentJson: string | null;
  /** null for SQL NULL (a nullable column in a drifted schema); the rules treat it as JSON null, "no items". */
  itemsJson: string | null;
  reassessmentRequired: boolean;
  /** The row version read (xmin): writes are guarded by it so a concurrent change is never overwritten. */
  version: string;
}

/** How many assessments hold each equipment value; `other` is every legacy or invalid value. */
export type EquipmentDistribution = Record<EquipmentValue | 'other', number>;

export interface RunScope {
  total: number;
  minId: number;
  maxId: number;
  before: EquipmentDistribution;
}

/** What the database stored for a written row (the UPDATE's RETURNING), as JSON text: a trigger may have rewritten it. */
export interface StoredValues {
  equipmentJson: string | null;
  itemsJson: string | null;
  reassessmentRequired: boolean;
}

export interface PageWriteResult {
  /** Ids written. A row of the page that is in neither set was changed by someone else since it was read. */
  written: Set<number>;
  /** The values each written row holds after the write. */
  stored: Map<number, StoredValues>;
  /** Ids the database refused to write, with its message. */
  refused: Map<number, string>;
}

export interface RowWrite {
  id: number;
  version: string;
  equipment: EquipmentValue;
  clearItems: boolean;
  reassessmentRequired: boolean;
}

/**
 * All SQL of the equipment migration. Table and column names come from the entities' metadata, so the entities stay
 * the one source of truth for the schema. Pages are read by keyset (`id > last ORDER BY id LIMIT n`), and rows the
 * rules would skip are recognised in SQL, so only candidates travel to Node.
 */
export class AssessmentMigrationRepository {
  private readonly t: AssessmentColumns;
  private readonly changes: ChangeColumns;
  private readonly errors: ErrorColumns;
  /** Statements run one after the other on the run's connection; callers may send the next before the last ends. */
  private queue: Promise<unknown> = Promise.resolve();
  private failure?: { error: unknown };

  /** `runId`: the audit-trail run every written row is recorded under, in the same statement as the write. */
  constructor(
    private readonly queryRunner: QueryRunner,
    private readonly runId: string,
  ) {
    this.t = assessmentColumns(queryRunner.connection);
    this.changes = changeColumns(queryRunner.connection);
    this.errors = errorColumns(queryRunner.connection);
  }

  /** Resolves when every statement sent so far has finished (successfully or not). */
  async drain(): Promise<void> {
    await this.queue;
  }

  /**
   * Runs `statement` after every statement sent before it. The migration keeps a read and a write in flight; node-
   * postgres would queue them itself, but that is deprecated (pg 9 refuses a query on a busy client).
   */
  private inTurn<T>(statement: () => Promise<T>): Promise<T> {
    const run = () => (this.failure ? Promise.reject(this.failure.error) : statement());
    const result = this.queue.then(run, run);
    this.queue = result.catch((error) => {
      // After a failed statement the transaction is aborted: later ones would only fail with "current transaction is
      // aborted", hiding the cause. They get the first failure instead, and are never sent.
      this.failure ??= { error };
    });
    return result;
  }

  private select() {
    return this.queryRunner.manager.createQueryBuilder(Assessment, 'a');
  }

  /** Rows and highest id at the start: the run covers exactly these ids (rows inserted later are new-format). */
  async scope(): Promise<RunScope> {
    const row = await this.inTurn(() =>
      this.select()
        .select('count(*)::int', 'total')
        .addSelect('COALESCE(min(a.id), 0)', 'minId')
        .addSelect('COALESCE(max(a.id), 0)', 'maxId')
        // The distribution before the run, in the same scan.
        .addSelect(`count(*) FILTER (WHERE a.equipment = '"full_gym"'::jsonb)::int`, 'full_gym')
        .addSelect(`count(*) FILTER (WHERE a.equipment = '"basic_equipment"'::jsonb)::int`, 'basic_equipment')
        .addSelect(`count(*) FILTER (WHERE a.equipment = '"no_equipment"'::jsonb)::int`, 'no_equipment')
        .getRawOne(),
    );
    const canonical = row.full_gym + row.basic_equipment + row.no_equipment;
    return {
      total: row.total,
      minId: row.minId,
      maxId: row.maxId,
      before: { full_gym: row.full_gym, basic_equipment: row.basic_equipment, no_equipment: row.no_equipment, other: row.total - canonical },
    };
  }

  /**
   * The next keyset page: up to `pageSize` candidates with `afterId < id <= maxId`, in id order. Rows the rules would
   * skip never leave the database; the caller counts them as total minus the candidates it saw.
   */
  readPage(afterId: number, maxId: number, pageSize: number): Promise<CandidateRow[]> {
    const page = this.candidates()
      // bigint bounds: `afterId` starts at minId - 1, which is below the int range when an id is -2147483648.
      .where('a.id > CAST(:afterId AS bigint) AND a.id <= CAST(:maxId AS bigint)', { afterId, maxId })
      .andWhere(`NOT ${canonicalAndConsistent(this.t, 'a')}`) // rows the rules would skip stay in the database
      .orderBy('a.id', 'ASC')
      .limit(pageSize);
    return this.withEmails(page);
  }

  /** Re-reads rows by id, locking them, after a guarded write found them changed by someone else. */
  rereadLocked(ids: number[]): Promise<CandidateRow[]> {
    return this.withEmails(this.candidates().where('a.id = ANY(:ids)', { ids }).orderBy('a.id', 'ASC').setLock('pessimistic_write'));
  }

  private candidates() {
    return (
      this.select()
        .select('a.id', 'id')
        .addSelect('a.userId', 'userId')
        // jsonb as its JSON text: parsed once in Node, and embedded verbatim in the report.
        .addSelect('CAST(a.equipment AS text)', 'equipmentJson')
        .addSelect('CAST(a.equipmentItems AS text)', 'itemsJson')
        .addSelect('a.equipmentReassessmentRequired', 'reassessmentRequired')
        .addSelect('CAST(a.xmin AS text)', 'version')
    );
  }

  /**
   * Adds each candidate's user email. A LATERAL primary-key lookup (OFFSET 0 keeps it one) costs a third less than a
   * correlated subquery, and unlike a plain join it can never turn into a scan of all users for every page.
   * TypeORM's QueryBuilder has no LATERAL join, so the page query it builds is wrapped here.
   */
  private withEmails(candidates: SelectQueryBuilder<Assessment>): Promise<CandidateRow[]> {
    const [sql, parameters] = candidates.getQueryAndParameters();
    const { users, usersId, usersEmail } = this.t;
    const withEmails = `SELECT c.*, u.email AS "userEmail" FROM (${sql}) AS c
      LEFT JOIN LATERAL (SELECT ${usersEmail} AS email FROM ${users} WHERE ${usersId} = c."userId" OFFSET 0) AS u ON true
      ORDER BY c.id`;
    return this.inTurn(() => this.queryRunner.query(withEmails, parameters));
  }

  /**
   * Writes a page in one statement, inside a savepoint. Each row is written only if it still is the version that was
   * read. If the database refuses a row (a check constraint, a trigger), the page is retried in halves, each under its
   * own savepoint, down to the refused rows: those are returned with the database's message, every other row is
   * written. Any other error ends the run.
   */
  writePage(writes: RowWrite[]): Promise<PageWriteResult> {
    const refused = new Map<number, string>();
    const stored = new Map<number, StoredValues>();
    if (writes.length === 0) return Promise.resolve({ written: new Set(), stored, refused });
    // One turn for the whole page, so no other statement lands between a savepoint and its release.
    return this.inTurn(async () => ({
      written: await writeIsolatingRefusals(this.queryRunner, writes, (rows) => this.update(rows, stored), refused),
      stored,
      refused,
    }));
  }

  /**
   * The guarded write and its audit rows, in one statement: `before` reads the values each row holds in the
   * statement's snapshot, the UPDATE writes only rows still at the version read, and the INSERT records exactly the
   * rows written, with their values before and after. The values stored (after any trigger) are added to `stored`.
   */
  private async update(writes: RowWrite[], stored: Map<number, StoredValues>): Promise<Set<number>> {
    const { table, id, userId, equipment, items, flag, updatedAt } = this.t;
    const c = this.changes;
    const sql = `WITH w AS (
           SELECT * FROM unnest($1::int[], $2::xid[], $3::text[], $4::bool[], $5::bool[]) AS w(id, version, equipment, clear_items, flag)
         ),
         before AS (
           SELECT a.${id} AS id, a.${userId} AS user_id, a.${equipment} AS equipment, a.${items} AS items, a.${flag} AS flag
             FROM ${table} AS a JOIN w ON a.${id} = w.id
            WHERE a.${id} BETWEEN $6 AND $7
         ),
         written AS (
           UPDATE ${table} AS a
              SET ${equipment} = to_jsonb(w.equipment),
                  ${items} = CASE WHEN w.clear_items THEN '[]'::jsonb ELSE a.${items} END,
                  ${flag} = w.flag,
                  ${updatedAt} = now()
             FROM w
            WHERE a.${id} = w.id AND a.xmin = w.version
              AND a.${id} BETWEEN $6 AND $7 -- bounds the planner's index scan to this page
           RETURNING a.${id} AS id, a.${equipment} AS equipment, a.${items} AS items, a.${flag} AS flag
         ),
         audit AS (
           INSERT INTO ${c.table} (${c.runId}, ${c.assessmentId}, ${c.userId}, ${c.previousEquipment}, ${c.previousItems}, ${c.previousFlag},
                                   ${c.newEquipment}, ${c.newItems}, ${c.newFlag})
           SELECT $8::uuid, written.id, before.user_id, before.equipment, before.items, before.flag, written.equipment, written.items, written.flag
             FROM written JOIN before ON before.id = written.id
         )
         SELECT id, CAST(equipment AS text) AS "equipmentJson", CAST(items AS text) AS "itemsJson", flag FROM written`;
    // Array literals built here: a page is thousands of rows, and these values need no quoting (integers,
    // canonical names, booleans), so the driver's per-element escaping is skipped.
    const parameters = [
      `{${writes.map((w) => w.id).join(',')}}`,
      `{${writes.map((w) => w.version).join(',')}}`,
      `{${writes.map((w) => w.equipment).join(',')}}`,
      `{${writes.map((w) => (w.clearItems ? 't' : 'f')).join(',')}}`,
      `{${writes.map((w) => (w.reassessmentRequired ? 't' : 'f')).join(',')}}`,
      writes.reduce((min, w) => Math.min(min, w.id), Infinity),
      writes.reduce((max, w) => Math.max(max, w.id), -Infinity),
      this.runId,
    ];
    const rows: { id: number; equipmentJson: string | null; itemsJson: string | null; flag: boolean }[] = await this.queryRunner.query(sql, parameters);
    for (const r of rows) stored.set(r.id, { equipmentJson: r.equipmentJson, itemsJson: r.itemsJson, reassessmentRequired: r.flag });
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Records a page's error rows as the report names them (reason, values read), in turn after the page's write: with
   * the changes they are what the run's report is built from again.
   */
  recordErrors(classified: Classified[]): Promise<void> {
    const errors = classified.filter((item) => item.outcome.status === 'error');
    if (errors.length === 0) return Promise.resolve();
    const e = this.errors;
    const reasons = errors.map(({ outcome }) => (outcome.status === 'error' ? outcome.reason : ''));
    return this.inTurn(async () => {
      await this.queryRunner.query(
        `INSERT INTO ${e.table} (${e.runId}, ${e.assessmentId}, ${e.userId}, ${e.userEmail}, ${e.reason}, ${e.originalEquipment}, ${e.originalItems})
         SELECT $1::uuid, r.id, r.user_id, r.email, r.reason, r.equipment::jsonb, r.items::jsonb
           FROM unnest($2::int[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[]) AS r(id, user_id, email, reason, equipment, items)`,
        [
          this.runId,
          errors.map(({ row }) => row.id),
          errors.map(({ row }) => row.userId),
          errors.map(({ row }) => row.userEmail),
          reasons,
          errors.map(({ row }) => row.equipmentJson),
          errors.map(({ row }) => row.itemsJson),
        ],
      );
    });
  }
}
