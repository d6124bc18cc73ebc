import { DataSource, EntityTarget } from 'typeorm';

/**
 * An entity's escaped table name and the escaped column names of the given properties, from TypeORM's metadata: the
 * entities stay the one source of truth for the schema the raw SQL uses. `{ id: 'id', flag: 'reassessmentRequired' }`
 * gives `{ table: '"t"', id: '"id"', flag: '"reassessment_required"' }`.
 */
export function entityColumns<K extends string>(
  connection: DataSource,
  entity: EntityTarget<object>,
  properties: Record<K, string>,
): Record<K | 'table', string> {
  const meta = connection.getMetadata(entity);
  const escape = (name: string) => connection.driver.escape(name);
  const names = { table: escape(meta.tableName) } as Record<K | 'table', string>;
  for (const [key, property] of Object.entries<string>(properties)) {
    const found = meta.findColumnWithPropertyName(property);
    if (!found) throw new Error(`${meta.name}.${property} is not mapped`);
    names[key as K] = escape(found.databaseName);
  }
  return names;
}
