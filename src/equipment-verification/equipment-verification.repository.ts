import { QueryRunner } from 'typeorm';
import { AssessmentColumns, assessmentColumns } from '../database/assessment-columns';
import { canonicalAndConsistent } from '../equipment-migration/skip-predicate';

export interface EquipmentCounts {
  total: number;
  full_gym: number;
  basic_equipment: number;
  no_equipment: number;
  /** Rows whose equipment is not one canonical JSON string. */
  legacy_shape: number;
  /** basic_equipment rows with no items and no re-assessment flag. */
  basic_without_items_unflagged: number;
  flagged: number;
  /** Rows that are not canonical and consistent (what a migration would not skip). */
  offending: number;
}

/** The SQL of the post-migration checks (the guide's manual verification, automated). */
export class EquipmentVerificationRepository {
  private readonly c: AssessmentColumns;

  constructor(private readonly queryRunner: QueryRunner) {
    this.c = assessmentColumns(queryRunner.connection);
  }

  async counts(): Promise<EquipmentCounts> {
    const { table, equipment: e, items: i, flag } = this.c;
    const [row] = await this.queryRunner.query(
      `SELECT count(*)::int AS total,
              count(*) FILTER (WHERE a.${e} = '"full_gym"'::jsonb)::int AS full_gym,
              count(*) FILTER (WHERE a.${e} = '"basic_equipment"'::jsonb)::int AS basic_equipment,
              count(*) FILTER (WHERE a.${e} = '"no_equipment"'::jsonb)::int AS no_equipment,
              count(*) FILTER (WHERE a.${e} IS NULL OR a.${e} NOT IN ('"full_gym"'::jsonb, '"basic_equipment"'::jsonb, '"no_equipment"'::jsonb))::int AS legacy_shape,
              count(*) FILTER (WHERE a.${e} = '"basic_equipment"'::jsonb AND NOT a.${flag}
                                 AND (COALESCE(jsonb_typeof(a.${i}), 'null') = 'null' OR a.${i} = '[]'::jsonb))::int AS basic_without_items_unflagged,
              count(*) FILTER (WHERE a.${flag})::int AS flagged,
              count(*) FILTER (WHERE NOT ${canonicalAndConsistent(this.c, 'a')})::int AS offending
         FROM ${table} AS a`,
    );
    return row;
  }

  async offendingIds(limit: number): Promise<number[]> {
    const { table, id } = this.c;
    const rows: { id: number }[] = await this.queryRunner.query(
      `SELECT a.${id} AS id FROM ${table} AS a WHERE NOT ${canonicalAndConsistent(this.c, 'a')} ORDER BY a.${id} LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.id);
  }
}
