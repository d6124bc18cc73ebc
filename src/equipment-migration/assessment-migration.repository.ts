import { QueryRunner } from 'typeorm';
import { Assessment } from '../entities/assessment.entity';
import { User } from '../entities/user.entity';
import { EQUIPMENT_VALUES, EquipmentValue } from './equipment-rules';

/** One candidate row as the migration reads it. jsonb columns arrive as their JSON text, so reports quote them exactly. */
export interface CandidateRow {
  id: number;
  userId: number;
  userEmail: string;
  equipmentJson: string | null;
  itemsJson: string;
  reassessmentRequired: boolean;
  /** The row version read (xmin): writes are guarded by it so a concurrent change is never overwritten. */
  version: string;
}

export interface CandidatePage {
  /** Rows in the page (candidates and rows recognised as already valid). */
  scanned: number;
  lastId: number;
  candidates: CandidateRow[];
}

export interface RowWrite {
  id: number;
  version: string;
  equipment: EquipmentValue;
  clearItems: boolean;
  reassessmentRequired: boolean;
}

const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;

/**
 * All SQL of the equipment migration. Table and column names come from the entities' metadata, so the entities stay
 * the one source of truth for the schema. Pages are read by keyset (`id > last ORDER BY id LIMIT n`), and rows the
 * rules would skip are recognised in SQL, so only candidates travel to Node.
 */
export class AssessmentMigrationRepository {
  private readonly t: {
    table: string;
    id: string;
    userId: string;
    equipment: string;
    items: string;
    flag: string;
    updatedAt: string;
    users: string;
    usersId: string;
    usersEmail: string;
  };

  constructor(private readonly queryRunner: QueryRunner) {
    const meta = queryRunner.connection.getMetadata(Assessment);
    const users = queryRunner.connection.getMetadata(User);
    const column = (property: string, m = meta) => {
      const found = m.findColumnWithPropertyName(property);
      if (!found) throw new Error(`${m.name}.${property} is not mapped`);
      return queryRunner.connection.driver.escape(found.databaseName);
    };
    const escape = (name: string) => queryRunner.connection.driver.escape(name);
    this.t = {
      table: escape(meta.tableName),
      id: column('id'),
      userId: column('userId'),
      equipment: column('equipment'),
      items: column('equipmentItems'),
      flag: column('equipmentReassessmentRequired'),
      updatedAt: column('updatedAt'),
      users: escape(users.tableName),
      usersId: column('id', users),
      usersEmail: column('email', users),
    };
  }

  /**
   * SQL twin of EquipmentRules' "skipped" outcome (a canonical JSON string; basic_equipment only with valid items, or
   * with empty items and the flag already set). A test checks both agree on arbitrary data.
   */
  skipPredicate(alias = 'a'): string {
    const { equipment, items, flag } = this.t;
    const e = `${alias}.${equipment}`;
    const i = `${alias}.${items}`;
    return `COALESCE(
      jsonb_typeof(${e}) = 'string'
      AND (${e} #>> '{}') IN (${EQUIPMENT_VALUES.map(quote).join(', ')})
      AND ((${e} #>> '{}') <> 'basic_equipment' OR CASE jsonb_typeof(${i})
        WHEN 'null' THEN ${alias}.${flag}
        WHEN 'array' THEN CASE WHEN jsonb_array_length(${i}) = 0 THEN ${alias}.${flag}
          ELSE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(${i}) AS item(v)
                           WHERE jsonb_typeof(item.v) <> 'string' OR length(item.v #>> '{}') = 0) END
        ELSE false END),
      false)`;
  }

  /** Rows and highest id at the start: the run covers exactly these ids (rows inserted later are new-format). */
  async scope(): Promise<{ total: number; maxId: number }> {
    const [row] = await this.queryRunner.query(
      `SELECT count(*)::int AS total, COALESCE(max(${this.t.id}), 0) AS "maxId" FROM ${this.t.table}`,
    );
    return { total: row.total, maxId: row.maxId };
  }

  /** The next keyset page after `afterId` (up to `maxId`): its size, its last id, and its candidate rows. */
  async readPage(afterId: number, maxId: number, pageSize: number): Promise<CandidatePage> {
    const { table, id } = this.t;
    const [bounds] = await this.queryRunner.query(
      `SELECT count(*)::int AS scanned, COALESCE(max(p.id), 0) AS "lastId"
         FROM (SELECT ${id} AS id FROM ${table} WHERE ${id} > $1 AND ${id} <= $2 ORDER BY ${id} LIMIT $3) AS p`,
      [afterId, maxId, pageSize],
    );
    if (bounds.scanned === 0) return { scanned: 0, lastId: afterId, candidates: [] };
    const rows = await this.selectCandidates(`a.${id} > $1 AND a.${id} <= $2 AND NOT ${this.skipPredicate('a')}`, [
      afterId,
      bounds.lastId,
    ]);
    return { scanned: bounds.scanned, lastId: bounds.lastId, candidates: rows };
  }

  /** Re-reads rows by id, locking them, after a guarded write found them changed by someone else. */
  async rereadLocked(ids: number[]): Promise<CandidateRow[]> {
    return this.selectCandidates(`a.${this.t.id} = ANY($1::int[])`, [ids], 'FOR UPDATE OF a');
  }

  private async selectCandidates(where: string, parameters: unknown[], lock = ''): Promise<CandidateRow[]> {
    const { table, id, userId, equipment, items, flag, users, usersId, usersEmail } = this.t;
    return this.queryRunner.query(
      `SELECT a.${id} AS id, a.${userId} AS "userId", u.${usersEmail} AS "userEmail",
              a.${equipment}::text AS "equipmentJson", a.${items}::text AS "itemsJson",
              a.${flag} AS "reassessmentRequired", a.xmin::text AS version
         FROM ${table} AS a JOIN ${users} AS u ON u.${usersId} = a.${userId}
        WHERE ${where}
        ORDER BY a.${id} ${lock}`,
      parameters,
    );
  }

  /**
   * Writes a page in one statement. Each row is written only if it still is the version that was read; the ids of
   * rows written are returned, so the caller can re-read the others.
   */
  async writePage(writes: RowWrite[]): Promise<Set<number>> {
    if (writes.length === 0) return new Set();
    const { table, id, equipment, items, flag, updatedAt } = this.t;
    const result = await this.queryRunner.query(
      `UPDATE ${table} AS a
          SET ${equipment} = to_jsonb(w.equipment),
              ${items} = CASE WHEN w.clear_items THEN '[]'::jsonb ELSE a.${items} END,
              ${flag} = w.flag,
              ${updatedAt} = now()
         FROM unnest($1::int[], $2::xid[], $3::text[], $4::bool[], $5::bool[]) AS w(id, version, equipment, clear_items, flag)
        WHERE a.${id} = w.id AND a.xmin = w.version
        RETURNING a.${id} AS id`,
      [
        writes.map((w) => w.id),
        writes.map((w) => w.version),
        writes.map((w) => w.equipment),
        writes.map((w) => w.clearItems),
        writes.map((w) => w.reassessmentRequired),
      ],
      true, // structured result: TypeORM returns UPDATE ... RETURNING rows as result.records
    );
    return new Set((result.records as { id: number }[]).map((r) => r.id));
  }
}
