import { QueryRunner, SelectQueryBuilder } from 'typeorm';
import { Assessment } from '../entities/assessment.entity';
import { WriteStatement, writeIsolatingRefusals } from '../database/isolated-write';
import { inlineValues, quoteLiteral } from '../database/sql-literals';
import { queryableClient } from '../database/pg-client';
import { StatementQueue } from '../database/statement-queue';
import { ChangeColumns, changeColumns, ErrorColumns, errorColumns } from '../audit-store/change-columns';
import type { AssessmentValues } from '../audit-store/recorded-run.reader';
import type { Classified } from './report.service';
import { AssessmentColumns, assessmentColumns } from '../database/assessment-columns';
import { canonicalAndConsistent, equipmentClass } from './skip-predicate';
import { EQUIPMENT_VALUES, EquipmentValue } from './equipment-rules';

/** A connection and the queue its statements take turns in. */
interface StatementTarget {
  queryRunner: QueryRunner;
  statements: StatementQueue;
}

/** One candidate row as the migration reads it. */
export interface CandidateRow extends AssessmentValues {
  /** The row version read (xmin): writes are guarded by it so a concurrent change is never overwritten. */
  version: string;
  /**
   * Where that version is stored (ctid, as text): the write goes straight to it, and reads the values before from it,
   * with no index lookup. A row moved since (updated, or the table rewritten) is simply not written there.
   */
  location: string;
  /**
   * Set (to the row's size as text, in bytes) when the row is larger than MAX_ROW_TEXT_BYTES: its values were not
   * read (equipmentJson and itemsJson are null) and the row is an error row, left as it is.
   */
  oversizedBytes?: number | null;
}

/** What a run learns about its rows' sizes from page to page (see readPage): one per run, kept across pages. */
export interface PageSizing {
  /** Rows the last page cut short by bytes held (plus one), growing again once pages fit. */
  rowsThatFit?: number;
}

/** A keyset page of candidates; `more`: the range may hold further candidates (the page was full, by rows or bytes). */
export interface CandidatePage {
  rows: CandidateRow[];
  more: boolean;
}

/**
 * Text (equipment + equipment_items as JSON text, in bytes) a page may carry: a page is held in memory as text, as
 * parsed values and as report JSON at once, and two pages are in flight, so memory stays bounded per byte, not only
 * per row. A page always has at least one row.
 */
export const PAGE_TEXT_BUDGET_BYTES = 8 * 1024 * 1024;
/**
 * Text one row may have to be read at all. A larger value (no real answer comes near it) is not fetched: V8's strings
 * end below 512 MiB, and the row would be held several times over. It becomes an error row naming its size.
 */
export const MAX_ROW_TEXT_BYTES = 32 * 1024 * 1024;

/** How many assessments hold each equipment value; `other` is every legacy or invalid value. */
export type EquipmentDistribution = Record<EquipmentValue | 'other', number>;

export interface RunScope {
  total: number;
  minId: number;
  maxId: number;
  before: EquipmentDistribution;
}

/** What the database stored for a written row (the write's answer), as JSON text: a trigger may have rewritten it. */
export interface StoredValues {
  equipmentJson: string | null;
  itemsJson: string | null;
  reassessmentRequired: boolean;
}

export interface PageWriteResult {
  /** Ids written. A row of the page that is in neither set was changed by someone else since it was read. */
  written: Set<number>;
  /** The values a written row holds after the write, for the rows that do not hold what was written (a trigger). */
  stored: Map<number, StoredValues>;
  /** Ids the database refused to write, with its message. */
  refused: Map<number, string>;
}

export interface RowWrite {
  id: number;
  version: string;
  /** CandidateRow.location: the write and its audit row's values before are taken from the version stored there. */
  location: string;
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
  /** The page write's statement, values still as $n (see update). */
  private readonly pageWrite: string;
  /** The run's connection takes one statement at a time; a page's read is sent while the last page is written. */
  private readonly statements = new StatementQueue();
  /** The transaction's connection with its queue, and where pages are read: the reader's when there is one, else the same. */
  private readonly own: StatementTarget;
  private readonly pageReads: StatementTarget;

  /**
   * `runId`: the audit-trail run every written row is recorded under, in the same statement as the write.
   * `reader`: a read-only connection beside the transaction (GuardedTransactionRunner.openReader) for the keyset pages, so
   * the database reads the next page while it writes the last one. Pages read there never see the run's own
   * uncommitted writes, and need not: every page lies past the ones written, and every write is guarded by the row
   * version read. The locked re-reads of rows changed meanwhile stay on the transaction.
   */
  constructor(
    private readonly queryRunner: QueryRunner,
    private readonly runId: string,
    reader?: QueryRunner,
  ) {
    this.t = assessmentColumns(queryRunner.connection);
    this.changes = changeColumns(queryRunner.connection);
    this.errors = errorColumns(queryRunner.connection);
    this.pageWrite = pageWriteStatement(this.t, this.changes);
    this.own = { queryRunner, statements: this.statements };
    this.pageReads = reader ? { queryRunner: reader, statements: new StatementQueue() } : this.own;
  }

  /** Resolves when every statement sent so far, on either connection, has finished (successfully or not). */
  async drain(): Promise<void> {
    await Promise.all([this.statements.drain(), this.pageReads.statements.drain()]);
  }

  private select() {
    return this.queryRunner.manager.createQueryBuilder(Assessment, 'a');
  }

  /**
   * Rows and highest id at the start: the run covers exactly these ids (rows inserted later are new-format). With the
   * distribution before the run, in the same scan: the rows grouped by their equipment's class (one of the canonical
   * values, else "other"), so each row's text is extracted once and the scan can run in parallel workers (three
   * jsonb comparisons per row in count FILTERs took a third longer: 245 against 172 ms at 1,000,000 rows).
   */
  async scope(): Promise<RunScope> {
    const rows: { class: string; n: number; minId: number; maxId: number }[] = await this.statements.run(() =>
      this.select()
        .select(equipmentClass(this.t, 'a'), 'class')
        .addSelect('count(*)::int', 'n')
        .addSelect('min(a.id)', 'minId')
        .addSelect('max(a.id)', 'maxId')
        .groupBy('1')
        .getRawMany(),
    );
    const before: EquipmentDistribution = { full_gym: 0, basic_equipment: 0, no_equipment: 0, other: 0 };
    for (const row of rows) before[row.class as keyof EquipmentDistribution] = row.n;
    return {
      total: rows.reduce((sum, row) => sum + row.n, 0),
      minId: rows.length > 0 ? Math.min(...rows.map((row) => row.minId)) : 0,
      maxId: rows.length > 0 ? Math.max(...rows.map((row) => row.maxId)) : 0,
      before,
    };
  }

  /**
   * The next keyset page: up to `pageSize` candidates with `afterId < id <= maxId`, in id order, and at most
   * PAGE_TEXT_BUDGET_BYTES of text (always at least one row). Rows the rules would skip never leave the database; the
   * caller counts them as total minus the candidates it saw.
   */
  async readPage(afterId: number, maxId: number, pageSize: number, sizing: PageSizing = this.sizing): Promise<CandidatePage> {
    // After a page cut short by bytes, ask for about as many rows as fitted: the database measures every row it is
    // asked for, so a limit far above what fits would measure the same large rows again page after page.
    const limit = Math.min(pageSize, sizing.rowsThatFit ?? pageSize);
    const page = this.candidates()
      // bigint bounds: `afterId` starts at minId - 1, which is below the int range when an id is -2147483648.
      .where('a.id > CAST(:afterId AS bigint) AND a.id <= CAST(:maxId AS bigint)', { afterId, maxId })
      .andWhere(`NOT ${canonicalAndConsistent(this.t, 'a')}`) // rows the rules would skip stay in the database
      .orderBy('a.id', 'ASC')
      .limit(limit);
    const rows = await this.withEmails(page, PAGE_TEXT_BUDGET_BYTES, this.pageReads);
    const cutByBytes = rows.length > 0 && rows[rows.length - 1].followed === true;
    sizing.rowsThatFit = cutByBytes ? rows.length + 1 : Math.min(pageSize, limit * 2);
    return { rows, more: cutByBytes || rows.length === limit };
  }

  /** The sizing of a run that reads all its pages through this repository (an online run keeps its own). */
  private readonly sizing: PageSizing = {};

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
        .addSelect('CAST(a.ctid AS text)', 'location')
    );
  }

  /**
   * Measures the candidates' text and adds each one's user email. Rows are kept while the running sum of their text
   * (a window over the id order) stays within `budgetBytes`, and always the first; `followed` marks the row after
   * which the next candidate would pass the budget (null on every other row: no value to send and parse), so a last
   * row with it means the page was cut short by bytes. The values of a row larger than MAX_ROW_TEXT_BYTES are not sent
   * (see CandidateRow.oversizedBytes).
   * A LATERAL primary-key lookup for the email (OFFSET 0 keeps it one) costs a third less than a correlated subquery,
   * and unlike a plain join it can never turn into a scan of all users for every page. TypeORM's QueryBuilder has no
   * LATERAL join or window clause, so the page query it builds is wrapped here. Rows come from node-postgres as arrays
   * (rowMode), made into CandidateRows here: its own row objects, keyed by column name, cost more in Node than the
   * rest of the row's reading.
   */
  private withEmails(
    candidates: SelectQueryBuilder<Assessment>,
    budgetBytes = Number.MAX_SAFE_INTEGER,
    on: StatementTarget = this.own,
  ): Promise<(CandidateRow & { followed: boolean })[]> {
    const [sql, parameters] = candidates.getQueryAndParameters();
    const { users, usersId, usersEmail } = this.t;
    // float8, not bigint: its sum stays float8 (exact for integers below 2^53) where a bigint sum is slower numeric.
    const budget = `$${parameters.length + 1}::float8`;
    const maxRow = `$${parameters.length + 2}::float8`;
    const oversized = `s."rowBytes" > ${maxRow}`;
    const withEmails = `SELECT s.id, s."userId",
             CASE WHEN ${oversized} THEN NULL ELSE s."equipmentJson" END AS "equipmentJson",
             CASE WHEN ${oversized} THEN NULL ELSE s."itemsJson" END AS "itemsJson",
             s."reassessmentRequired", s.version, s.location,
             CASE WHEN s."pageBytes" + s."nextBytes" > ${budget} THEN true END AS followed,
             CASE WHEN ${oversized} THEN s."rowBytes" END AS "oversizedBytes",
             u.email AS "userEmail"
        FROM (
          SELECT m.*, sum(m."rowBytes") OVER w AS "pageBytes", lead(m."rowBytes") OVER w AS "nextBytes"
            FROM (SELECT p.*, COALESCE(octet_length(p."equipmentJson"), 0)::float8 + COALESCE(octet_length(p."itemsJson"), 0) AS "rowBytes"
                    FROM (${sql}) AS p) AS m
          WINDOW w AS (ORDER BY m.id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ) AS s
        LEFT JOIN LATERAL (SELECT ${usersEmail} AS email FROM ${users} WHERE ${usersId} = s."userId" OFFSET 0) AS u ON true
       WHERE s."pageBytes" <= ${budget} OR s."pageBytes" = s."rowBytes" -- within the budget, or the first row
       ORDER BY s.id`;
    const query = { text: withEmails, values: [...parameters, budgetBytes, MAX_ROW_TEXT_BYTES], rowMode: 'array' as const };
    return on.statements.run(async () => (await queryableClient(on.queryRunner).query(query)).rows.map(candidateOf));
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
    // Built now, while the connection may still be busy with the last page, so it is sent the moment its turn comes.
    const whole = this.update(writes, stored);
    // One turn for the whole page, so no other statement lands between a savepoint and its release.
    return this.statements.run(async () => ({
      written: await writeIsolatingRefusals(this.queryRunner, writes, (rows) => (rows === writes ? whole : this.update(rows, stored)), refused),
      stored,
      refused,
    }));
  }

  /**
   * The guarded write and its audit rows, in one statement. Each row is written at the location read (a TID scan, no
   * index lookup), only if what is stored there still is the row read (its id: a rewritten table moves rows, and rows
   * inserted together share a version) at the version read: a row changed or moved since is not written. The values
   * before come from that same stored version, joined to itself by location (as the bench's audit floor does), so they
   * are exactly what the row held, and nothing read is sent back: against sending the values read as JSON, the
   * database spent 2-12% less CPU on the page writes (interleaved page by page on two copies at 1,000,000 rows,
   * 2026-12-07), and Node builds and sends a fifth of the text. The INSERT records exactly the rows written. The
   * answer is small: the rows whose stored values (after any trigger) are not what was written, added to `stored`,
   * and, only when fewer rows were written than sent, the ids written (the rest were changed by someone else since
   * they were read). Returning every written row cost the database and Node more than anything else in the
   * statement's answer, for rows that are almost always exactly as written. Both come from the UPDATE's own answer
   * (it returns what was meant beside what was stored), not from joining the page to the audit rows: 2-4% less CPU
   * again (interleaved).
   */
  private update(writes: RowWrite[], stored: Map<number, StoredValues>): WriteStatement {
    // Array literals built here: a page is thousands of rows, and these values need no quoting (integers, and
    // locations such as "(12,3)" quoted as array elements).
    const values = [
      `{${writes.map((w) => w.id).join(',')}}`,
      `{${writes.map((w) => w.version).join(',')}}`,
      `{${writes.map(writeCode).join(',')}}`,
      `{"${writes.map((w) => w.location).join('","')}"}`,
      this.runId,
      writes.length,
    ];
    type Answer = { id: number; equipmentJson: string | null; itemsJson: string | null; flag: boolean; writtenIds: number[] | null };
    return {
      sql: inlineValues(this.pageWrite, values),
      written: (answer) => {
        let written: Set<number> | undefined;
        for (const r of answer as Answer[]) {
          if (r.writtenIds) written = new Set(r.writtenIds);
          else stored.set(r.id, { equipmentJson: r.equipmentJson, itemsJson: r.itemsJson, reassessmentRequired: r.flag });
        }
        return written ?? new Set(writes.map((w) => w.id));
      },
    };
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
    return this.statements.run(async () => {
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

/** The page write's statement (see AssessmentMigrationRepository.update), its values as $1-$6: built once per run. */
function pageWriteStatement(t: AssessmentColumns, c: ChangeColumns): string {
  const { table, id, userId, equipment, items, flag, updatedAt } = t;
  // Only a trigger or a rule can store other values than the UPDATE sets. Without one on the table (the usual case)
  // the comparison below is never evaluated: a one-time check of the catalogs, in the statement's own snapshot, taken
  // once it holds the table's lock (a trigger or rule is created under a lock that conflicts with it, so none can
  // appear meanwhile; the run's transaction is READ COMMITTED, so each statement sees the catalogs as they are).
  // Comparing every written row's values as text was 6-10% of the page write's time.
  const rewriterExists = `EXISTS (SELECT FROM pg_catalog.pg_trigger WHERE tgrelid = ${quoteLiteral(table)}::regclass AND NOT tgisinternal
                                  UNION ALL
                                  SELECT FROM pg_catalog.pg_rewrite WHERE ev_class = ${quoteLiteral(table)}::regclass AND ev_type <> '1')`;
  // Each row's equipment, items and flag to write travel as one small integer (see writeCode): a third of the
  // statement's text, and two arrays fewer for the database to parse (about 9% of the write's time). The rows sent
  // are a subquery of the UPDATE, read once; as a CTE, referred to again to find the rows not written, they were
  // stored and scanned again (8-15% of the write's time).
  return `WITH written AS (
         UPDATE ${table} AS a
            SET ${equipment} = to_jsonb(w.equipment),
                ${items} = CASE WHEN w.clear_items THEN '[]'::jsonb ELSE a.${items} END,
                ${flag} = w.flag,
                ${updatedAt} = now()
           FROM (SELECT w.id, w.version, (${EQUIPMENT_BY_CODE})[w.code / 4 + 1] AS equipment, w.code & 2 <> 0 AS clear_items,
                        w.code & 1 <> 0 AS flag, w.location
                   FROM ROWS FROM (unnest($1::int[]), unnest($2::xid[]), unnest($3::int[]), unnest($4::tid[])) AS w(id, version, code, location)
                ) AS w
           JOIN ${table} AS old ON old.ctid = w.location
          WHERE a.ctid = w.location AND a.${id} = w.id AND a.xmin = w.version
         RETURNING a.${id} AS id, old.${userId} AS user_id, old.${equipment} AS read_equipment, old.${items} AS read_items, old.${flag} AS read_flag,
                   a.${equipment} AS equipment, a.${items} AS items, a.${flag} AS flag,
                   w.equipment AS intended_equipment, w.clear_items, w.flag AS intended_flag
       ),
       audit AS (
         INSERT INTO ${c.table} (${c.runId}, ${c.assessmentId}, ${c.userId}, ${c.previousEquipment}, ${c.previousItems}, ${c.previousFlag},
                                 ${c.newEquipment}, ${c.newItems}, ${c.newFlag})
         SELECT $5::uuid, id, user_id, read_equipment, read_items, read_flag, equipment, items, flag
           FROM written
       )
       -- written rows stored otherwise than written (compared as text, as Node does); the INSERT above records
       -- every written row (a data-modifying CTE always runs to completion)
       SELECT id, CAST(equipment AS text) AS "equipmentJson", CAST(items AS text) AS "itemsJson", flag, NULL::int[] AS "writtenIds"
         FROM written
        WHERE ${rewriterExists}
          AND (CAST(equipment AS text) IS DISTINCT FROM CAST(to_jsonb(intended_equipment) AS text)
               OR CAST(items AS text) IS DISTINCT FROM CASE WHEN clear_items THEN '[]' ELSE CAST(read_items AS text) END
               OR flag IS DISTINCT FROM intended_flag)
       UNION ALL
       -- only when fewer rows were written than sent: the ids written (the others were changed since they were read)
       SELECT NULL, NULL, NULL, NULL, COALESCE(array_agg(id), '{}')
         FROM written
       HAVING count(*) < $6`;
}

/** The canonical values as a SQL array, indexed by writeCode / 4 + 1. */
const EQUIPMENT_BY_CODE = `ARRAY[${EQUIPMENT_VALUES.map(quoteLiteral).join(', ')}]`;

/** A row write's values as one integer: the equipment's index in EQUIPMENT_VALUES times 4, +2 to clear the items, +1 to flag. */
export function writeCode(write: RowWrite): number {
  const index = EQUIPMENT_VALUES.indexOf(write.equipment);
  if (index < 0) throw new Error(`not a canonical equipment value: ${JSON.stringify(write.equipment)}`); // validated before; never sent
  return index * 4 + (write.clearItems ? 2 : 0) + (write.reassessmentRequired ? 1 : 0);
}

/** A row of the page query (AssessmentMigrationRepository.withEmails), its columns in select-list order. */
function candidateOf(row: unknown[]): CandidateRow & { followed: boolean } {
  return {
    id: row[0] as number,
    userId: row[1] as number,
    equipmentJson: row[2] as string | null,
    itemsJson: row[3] as string | null,
    reassessmentRequired: row[4] as boolean,
    version: row[5] as string,
    location: row[6] as string,
    followed: row[7] === true,
    oversizedBytes: row[8] as number | null,
    userEmail: row[9] as string | null,
  };
}
