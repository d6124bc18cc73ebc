import { DataSource } from 'typeorm';
import { entityColumns } from '../database/entity-columns';
import { EquipmentMigrationChange } from '../entities/equipment-migration-change.entity';
import { EquipmentMigrationError } from '../entities/equipment-migration-error.entity';

/** Escaped names of equipment_migration_changes, from the entity's metadata. */
export type ChangeColumns = ReturnType<typeof changeColumns>;

export function changeColumns(connection: DataSource) {
  return entityColumns(connection, EquipmentMigrationChange, {
    runId: 'runId',
    assessmentId: 'assessmentId',
    userId: 'userId',
    previousEquipment: 'previousEquipment',
    previousItems: 'previousItems',
    previousFlag: 'previousReassessmentRequired',
    newEquipment: 'newEquipment',
    newItems: 'newItems',
    newFlag: 'newReassessmentRequired',
  });
}

/** Escaped names of equipment_migration_errors. */
export type ErrorColumns = ReturnType<typeof errorColumns>;

export function errorColumns(connection: DataSource) {
  return entityColumns(connection, EquipmentMigrationError, {
    runId: 'runId',
    assessmentId: 'assessmentId',
    userId: 'userId',
    userEmail: 'userEmail',
    reason: 'reason',
    originalEquipment: 'originalEquipment',
    originalItems: 'originalItems',
  });
}
