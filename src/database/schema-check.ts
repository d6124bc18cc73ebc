import { DataSource } from 'typeorm';
import { UsageError } from '../cli/cli-errors';

/** Pre-flight: every entity's table and columns exist and no schema migration is pending. */
export class SchemaCheck {
  constructor(private readonly dataSource: DataSource) {}

  async assertReady(label: string): Promise<void> {
    const expected = this.dataSource.entityMetadatas.map((meta) => ({
      table: meta.tableName,
      columns: meta.columns.map((column) => column.databaseName),
    }));
    const rows: { table_name: string; column_name: string }[] = await this.dataSource.query(
      `SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = ANY($1::text[])`,
      [expected.map((e) => e.table)],
    );
    const present = new Set(rows.map((r) => `${r.table_name}.${r.column_name}`));
    const missing: string[] = [];
    for (const { table, columns } of expected) {
      if (!rows.some((r) => r.table_name === table)) {
        missing.push(`table "${table}"`);
        continue;
      }
      for (const column of columns) if (!present.has(`${table}.${column}`)) missing.push(`column "${table}.${column}"`);
    }
    if (missing.length > 0) {
      throw new UsageError(`Schema missing in ${label}: ${missing.join(', ')} not found; run \`npm run migration:run\` first`);
    }
    if (await this.dataSource.showMigrations()) {
      throw new UsageError(`Schema out of date in ${label}: migrations are pending; run \`npm run migration:run\` first`);
    }
  }
}
