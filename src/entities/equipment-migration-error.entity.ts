import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One row a run reported as an error, as the report names it: with the changes, what a run's report is built from
 * again (a resumed online run's report covers the whole run; `migration-runs <id> --save-report`). Written in the
 * same transaction as the run's page. A row also in equipment_migration_changes was written, and the database
 * stored other values than the rules decided (a trigger).
 */
@Entity({ name: 'equipment_migration_errors' })
export class EquipmentMigrationError {
  @PrimaryColumn({ name: 'run_id', type: 'uuid' })
  runId!: string;

  @PrimaryColumn({ name: 'assessment_id', type: 'int' })
  assessmentId!: number;

  @Column({ name: 'user_id', type: 'int' })
  userId!: number;

  @Column({ name: 'user_email', type: 'varchar', length: 254, nullable: true })
  userEmail!: string | null;

  @Column({ type: 'text' })
  reason!: string;

  @Column({ name: 'original_equipment', type: 'jsonb', nullable: true })
  originalEquipment!: unknown;

  @Column({ name: 'original_items', type: 'jsonb', nullable: true })
  originalItems!: unknown;
}
