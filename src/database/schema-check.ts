import { DataSource } from 'typeorm';
import { UsageError } from '../cli/cli-errors';

/** Pre-flight: every entity's table and columns exist and no schema migration is pending. */
export class SchemaCheck {
  constructor(private readonly dataSource: DataSource) {}

  async assertReady(label: string): Promise<void> {
    const driver = this.dataSource.driver;
    const expected = this.dataSource.entityMetadatas.map((meta) => ({
      table: meta.tableName,
      columns: meta.columns.map((column) => ({ name: column.databaseName, type: driver.normalizeType(column) })),
    }));
    const rows: { table_name: string; column_name: string; data_type: string; table_type: string }[] = await this.dataSource.query(
      `SELECT c.table_name, c.column_name, c.data_type, t.table_type
         FROM information_schema.columns c
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = current_schema() AND c.table_name = ANY($1::text[])`,
      [expected.map((e) => e.table)],
    );
    const present = new Map(rows.map((r) => [`${r.table_name}.${r.column_name}`, r]));
    const missing: string[] = [];
    const different: string[] = [];
    for (const { table, columns } of expected) {
      const kind = rows.find((r) => r.table_name === table)?.table_type;
      if (kind === undefined) {
        missing.push(`table "${table}"`);
        continue;
      }
      // The migration relies on a table's row versions (xmin) and row locks: a view of the same name is not enough.
      if (kind !== 'BASE TABLE') different.push(`"${table}" is a ${kind.toLowerCase()}, not a table`);
      for (const column of columns) {
        const found = present.get(`${table}.${column.name}`);
        if (!found) missing.push(`column "${table}.${column.name}"`);
        else if (found.data_type !== column.type) different.push(`column "${table}.${column.name}" is ${found.data_type}, not ${column.type}`);
      }
    }
    if (missing.length > 0) {
      throw new UsageError(`Schema missing in ${label}: ${missing.join(', ')} not found; run \`npm run migration:run\` first`);
    }
    if (different.length > 0) {
      throw new UsageError(`Schema differs from the entities in ${label}: ${different.join('; ')}; nothing was done`);
    }
    if (await this.dataSource.showMigrations()) {
      throw new UsageError(`Schema out of date in ${label}: migrations are pending; run \`npm run migration:run\` first`);
    }
  }
}
