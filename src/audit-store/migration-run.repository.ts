import { hostname } from 'node:os';
import { DataSource, EntityManager } from 'typeorm';
import {
  EquipmentMigrationRun,
  MigrationRunKind,
  MigrationRunMode,
  MigrationRunOptions,
  MigrationRunStatus,
  RunCheckpoint,
  RunScopeRecord,
} from '../entities/equipment-migration-run.entity';
import { TOOL_VERSION } from './tool-version';

export interface NewRun {
  id: string;
  kind: MigrationRunKind;
  startedAt: Date;
  options: MigrationRunOptions;
  revertsRunId?: string;
  mode?: MigrationRunMode;
  scope?: RunScopeRecord;
  checkpoint?: RunCheckpoint;
}

/** The audit trail's runs: written inside the run's own transaction (through its manager), read for listings. */
export class MigrationRunRepository {
  constructor(private readonly manager: EntityManager) {}

  static forDataSource(dataSource: DataSource): MigrationRunRepository {
    return new MigrationRunRepository(dataSource.manager);
  }

  private get runs() {
    return this.manager.getRepository(EquipmentMigrationRun);
  }

  /** Records the start of a run (status 'running'); it only becomes visible if the run commits. */
  async start(run: NewRun): Promise<void> {
    const [{ user }] = await this.manager.query('SELECT current_user AS user');
    await this.runs.insert({
      id: run.id,
      kind: run.kind,
      status: 'running',
      startedAt: run.startedAt,
      finishedAt: null,
      options: run.options,
      summary: null,
      databaseUser: user,
      hostName: hostname().slice(0, 255),
      toolVersion: TOOL_VERSION,
      planFingerprint: null,
      revertsRunId: run.revertsRunId ?? null,
      revertedByRunId: null,
      mode: run.mode ?? 'atomic',
      scope: run.scope ?? null,
      checkpoint: run.checkpoint ?? null,
    });
  }

  /** An online run's progress, written in the transaction of the page it records. */
  async saveCheckpoint(id: string, checkpoint: RunCheckpoint, summary: Record<string, number>): Promise<void> {
    await this.runs.update({ id }, { checkpoint, summary });
  }

  /** An online run that stopped part-way (its committed pages remain), or one that runs again (resumed). */
  async setStatus(id: string, status: MigrationRunStatus): Promise<void> {
    await this.runs.update({ id }, { status, finishedAt: status === 'running' ? null : new Date() });
  }

  /** The newest online migration run that can be resumed (interrupted, failed, or running with its process gone). */
  async latestResumable(): Promise<EquipmentMigrationRun | null> {
    return this.runs
      .createQueryBuilder('r')
      .where(`r.kind = 'migrate' AND r.mode = 'online' AND r.status IN ('interrupted', 'failed', 'running')`)
      .orderBy('r.startedAt', 'DESC')
      .limit(1)
      .getOne();
  }

  find(id: string): Promise<EquipmentMigrationRun | null> {
    return this.runs.findOne({ where: { id } });
  }

  async complete(id: string, summary: Record<string, number>, planFingerprint: string | null): Promise<void> {
    await this.runs.update({ id }, { status: 'completed', finishedAt: new Date(), summary, planFingerprint });
  }

  async markReverted(id: string, byRunId: string): Promise<void> {
    await this.runs.update({ id }, { status: 'reverted', revertedByRunId: byRunId });
  }

  /** A run, locked against a concurrent revert of the same run. */
  findForUpdate(id: string): Promise<EquipmentMigrationRun | null> {
    return this.runs.createQueryBuilder('r').where('r.id = :id', { id }).setLock('pessimistic_write').getOne();
  }

  /** The run's status, if it is recorded (committed). */
  async findStatus(id: string): Promise<EquipmentMigrationRun['status'] | undefined> {
    const run = await this.runs.findOne({ where: { id }, select: { id: true, status: true } });
    return run?.status;
  }

  /** Newest first. */
  list(limit: number): Promise<EquipmentMigrationRun[]> {
    return this.runs.find({ order: { startedAt: 'DESC' }, take: limit });
  }
}
