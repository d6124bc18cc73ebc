import { DataSource } from 'typeorm';
import { EquipmentMigrationChange } from '../entities/equipment-migration-change.entity';

/** Escaped names of equipment_migration_changes, from the entity's metadata. */
export interface ChangeColumns {
  table: string;
  runId: string;
  assessmentId: string;
  previousEquipment: string;
  previousItems: string;
  previousFlag: string;
  newEquipment: string;
  newItems: string;
  newFlag: string;
}

export function changeColumns(connection: DataSource): ChangeColumns {
  const meta = connection.getMetadata(EquipmentMigrationChange);
  const column = (property: string) => {
    const found = meta.findColumnWithPropertyName(property);
    if (!found) throw new Error(`EquipmentMigrationChange.${property} is not mapped`);
    return connection.driver.escape(found.databaseName);
  };
  return {
    table: connection.driver.escape(meta.tableName),
    runId: column('runId'),
    assessmentId: column('assessmentId'),
    previousEquipment: column('previousEquipment'),
    previousItems: column('previousItems'),
    previousFlag: column('previousReassessmentRequired'),
    newEquipment: column('newEquipment'),
    newItems: column('newItems'),
    newFlag: column('newReassessmentRequired'),
  };
}
