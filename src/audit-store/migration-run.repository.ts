import { hostname } from 'node:os';
import { DataSource, EntityManager } from 'typeorm';
import { EquipmentMigrationRun, MigrationRunKind, MigrationRunOptions } from '../entities/equipment-migration-run.entity';
import { TOOL_VERSION } from './tool-version';

export interface NewRun {
  id: string;
  kind: MigrationRunKind;
  startedAt: Date;
  options: MigrationRunOptions;
  revertsRunId?: string;
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
    });
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
