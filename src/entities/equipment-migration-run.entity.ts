import { Column, Entity, PrimaryColumn } from 'typeorm';

export type MigrationRunKind = 'migrate' | 'revert';
export type MigrationRunStatus = 'running' | 'interrupted' | 'failed' | 'completed' | 'reverted';
/** atomic: one transaction (the default); online: one transaction per page, resumable. */
export type MigrationRunMode = 'atomic' | 'online';

/** What a run covers, fixed at its start: rows and id range, and the equipment distribution before it. */
export interface RunScopeRecord {
  total: number;
  minId: number;
  maxId: number;
  before: Record<string, number>;
}

/** How far an online run has committed: the last id done, the position among the scope's rows, the distribution now. */
export interface RunCheckpoint {
  lastId: number;
  position: number;
  after: Record<string, number>;
  /** Pages committed so far. */
  pages: number;
}
export type MigrationRunOptions = Record<string, string | number | boolean | null>;

/**
 * One committed run of migrate-equipment or revert-equipment-migration, written in the run's own transaction (a dry
 * run or a failed run leaves no row). Together with its changes it is the audit trail and what makes an exact undo
 * possible.
 */
@Entity({ name: 'equipment_migration_runs' })
export class EquipmentMigrationRun {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'varchar', length: 16 })
  kind!: MigrationRunKind;

  @Column({ type: 'varchar', length: 16 })
  status!: MigrationRunStatus;

  @Column({ type: 'varchar', length: 16, default: 'atomic' })
  mode!: MigrationRunMode;

  @Column({ type: 'jsonb', nullable: true })
  scope!: RunScopeRecord | null;

  /** An online run's progress, updated in each page's transaction. */
  @Column({ type: 'jsonb', nullable: true })
  checkpoint!: RunCheckpoint | null;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt!: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  /** The options the run was given (batch size, timeouts, …). */
  @Column({ type: 'jsonb' })
  options!: MigrationRunOptions;

  /** The report's summary (or, for a revert, its counts). */
  @Column({ type: 'jsonb', nullable: true })
  summary!: Record<string, number> | null;

  @Column({ name: 'database_user', type: 'varchar', length: 128 })
  databaseUser!: string;

  @Column({ name: 'host_name', type: 'varchar', length: 255 })
  hostName!: string;

  @Column({ name: 'tool_version', type: 'varchar', length: 64 })
  toolVersion!: string;

  @Column({ name: 'plan_fingerprint', type: 'varchar', length: 64, nullable: true })
  planFingerprint!: string | null;

  /** For a revert: the run it undid. */
  @Column({ name: 'reverts_run_id', type: 'uuid', nullable: true })
  revertsRunId!: string | null;

  /** For a migration run: the revert that undid it (a run is reverted at most once). */
  @Column({ name: 'reverted_by_run_id', type: 'uuid', nullable: true })
  revertedByRunId!: string | null;
}
