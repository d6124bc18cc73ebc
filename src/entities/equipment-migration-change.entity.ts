import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { EquipmentMigrationRun } from './equipment-migration-run.entity';

/**
 * One assessment a run changed: its equipment, items and flag before and after. No foreign key to assessments: a row
 * deleted later must not take its history with it (a revert reports it as missing). No foreign key to the run either:
 * its per-row trigger was the costliest part of a run's audit write; the run and its changes are written in one
 * transaction, and the tests check that every change has its run.
 */
@Entity({ name: 'equipment_migration_changes' })
export class EquipmentMigrationChange {
  @PrimaryColumn({ name: 'run_id', type: 'uuid' })
  runId!: string;

  @ManyToOne(() => EquipmentMigrationRun, { createForeignKeyConstraints: false })
  @JoinColumn({ name: 'run_id' })
  run?: EquipmentMigrationRun;

  @PrimaryColumn({ name: 'assessment_id', type: 'int' })
  assessmentId!: number;

  /** The assessment's user when the run changed it: the report names it even after the assessment is deleted. */
  @Column({ name: 'user_id', type: 'int', nullable: true })
  userId!: number | null;

  @Column({ name: 'previous_equipment', type: 'jsonb', nullable: true })
  previousEquipment!: unknown;

  /** SQL NULL when the row held SQL NULL (a nullable equipment_items in a drifted schema): a revert restores exactly that. */
  @Column({ name: 'previous_items', type: 'jsonb', nullable: true })
  previousItems!: unknown;

  @Column({ name: 'previous_reassessment_required', type: 'boolean' })
  previousReassessmentRequired!: boolean;

  @Column({ name: 'new_equipment', type: 'jsonb', nullable: true })
  newEquipment!: unknown;

  /** SQL NULL only for a revert's own record of a row it restored to SQL NULL. */
  @Column({ name: 'new_items', type: 'jsonb', nullable: true })
  newItems!: unknown;

  @Column({ name: 'new_reassessment_required', type: 'boolean' })
  newReassessmentRequired!: boolean;
}
