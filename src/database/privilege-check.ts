import { DataSource, EntityTarget } from 'typeorm';
import { UsageError } from '../cli/cli-errors';
import { Assessment } from '../entities/assessment.entity';
import { EquipmentMigrationChange } from '../entities/equipment-migration-change.entity';
import { EquipmentMigrationError } from '../entities/equipment-migration-error.entity';
import { EquipmentMigrationRun } from '../entities/equipment-migration-run.entity';
import { User } from '../entities/user.entity';

/** What a command does to the tables, and so which privileges its role needs. */
export type TableAccess = 'migrate' | 'revert' | 'verify' | 'list-runs' | 'rebuild-report';

type Privilege = 'SELECT' | 'INSERT' | 'UPDATE';

/** Every table a command reads or writes, with what it does there (a dry run needs the same: it does all the work). */
const NEEDS: Record<TableAccess, [EntityTarget<object>, Privilege[]][]> = {
  migrate: [
    [Assessment, ['SELECT', 'UPDATE']],
    [User, ['SELECT']],
    [EquipmentMigrationRun, ['SELECT', 'INSERT', 'UPDATE']],
    [EquipmentMigrationChange, ['INSERT']],
    [EquipmentMigrationError, ['INSERT']],
  ],
  revert: [
    [Assessment, ['SELECT', 'UPDATE']],
    [EquipmentMigrationRun, ['SELECT', 'INSERT', 'UPDATE']],
    [EquipmentMigrationChange, ['SELECT', 'INSERT']],
  ],
  verify: [[Assessment, ['SELECT']]],
  'list-runs': [[EquipmentMigrationRun, ['SELECT']]],
  'rebuild-report': [
    [EquipmentMigrationRun, ['SELECT']],
    [EquipmentMigrationChange, ['SELECT']],
    [EquipmentMigrationError, ['SELECT']],
    [Assessment, ['SELECT']],
    [User, ['SELECT']],
  ],
};

/**
 * Pre-flight: the role may do what the command will do (`has_table_privilege`), and no row-level security policy
 * hides rows from it (`row_security_active`): a role that sees half the table would migrate half of it and say it
 * is done. Refused before anything is touched, with one line naming what is missing (exit 2).
 */
export class PrivilegeCheck {
  constructor(private readonly dataSource: DataSource) {}

  async assert(access: TableAccess): Promise<void> {
    const needs = NEEDS[access].flatMap(([entity, privileges]) =>
      privileges.map((privilege) => ({ table: this.dataSource.getMetadata(entity).tableName, privilege })),
    );
    const rows: { table: string; privilege: Privilege; granted: boolean; rowSecurity: boolean; role: string }[] = await this.dataSource.query(
      `SELECT n.table, n.privilege, current_user AS role,
              has_table_privilege(format('%I.%I', current_schema(), n.table), n.privilege) AS granted,
              row_security_active(format('%I.%I', current_schema(), n.table)) AS "rowSecurity"
         FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS n("table", privilege, position)
        ORDER BY n.position`,
      [needs.map((n) => n.table), needs.map((n) => n.privilege)],
    );
    const role = rows[0]?.role ?? 'the current role';
    const missing = new Map<string, Privilege[]>();
    for (const row of rows) if (!row.granted) missing.set(row.table, [...(missing.get(row.table) ?? []), row.privilege]);
    if (missing.size > 0) {
      const list = [...missing].map(([table, privileges]) => `${privileges.join(', ')} on ${table}`).join('; ');
      throw new UsageError(`Role "${role}" lacks privileges this command needs: ${list}; grant them, or run as a role that has them; nothing was done`);
    }
    const hidden = [...new Set(rows.filter((row) => row.rowSecurity).map((row) => row.table))];
    if (hidden.length > 0) {
      throw new UsageError(
        `Row-level security applies to role "${role}" on ${hidden.join(', ')}: the command must see every row; run it as the table owner or a role with BYPASSRLS; nothing was done`,
      );
    }
  }
}
