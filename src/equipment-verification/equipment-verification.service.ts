import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DatabaseConnection } from '../database/database-connection.service';
import { EquipmentCounts, EquipmentVerificationRepository } from './equipment-verification.repository';

export const MAX_LISTED_OFFENDERS = 20;

export interface VerificationResult extends EquipmentCounts {
  ok: boolean;
  /** The first MAX_LISTED_OFFENDERS offending assessment ids. */
  offending_ids: number[];
}

/** Checks that every assessment is canonical and consistent (read-only, one snapshot). */
@Injectable()
export class EquipmentVerificationService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly database: DatabaseConnection,
  ) {}

  async verify(options: { json: boolean }): Promise<VerificationResult> {
    await this.database.open({ announceOn: options.json ? 'stderr' : 'stdout' });
    await this.database.assertAccess('verify');
    const queryRunner = this.dataSource.createQueryRunner();
    await queryRunner.connect();
    try {
      // Both queries see the same snapshot.
      await queryRunner.startTransaction('REPEATABLE READ');
      // A row-level security policy must not make a partial table look verified: fail instead of filtering.
      await queryRunner.query('SET LOCAL row_security = off');
      const repository = new EquipmentVerificationRepository(queryRunner);
      const counts = await repository.counts();
      const offendingIds = counts.offending > 0 ? await repository.offendingIds(MAX_LISTED_OFFENDERS) : [];
      await queryRunner.commitTransaction();
      return { ...counts, ok: counts.offending === 0, offending_ids: offendingIds };
    } catch (error) {
      if (queryRunner.isTransactionActive) await queryRunner.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await queryRunner.release();
    }
  }

  /** The human report. */
  lines(result: VerificationResult): string[] {
    const n = (value: number) => value.toLocaleString('en-US');
    const width = Math.max(...[result.full_gym, result.basic_equipment, result.no_equipment, result.legacy_shape].map((v) => n(v).length));
    const row = (label: string, value: number) => `  ${label.padEnd(20)} ${n(value).padStart(width)}`;
    const lines = [
      `Assessments: ${n(result.total)}`,
      row('full_gym', result.full_gym),
      row('basic_equipment', result.basic_equipment),
      row('no_equipment', result.no_equipment),
      row('legacy shape', result.legacy_shape),
      `Flagged for re-assessment: ${n(result.flagged)}`,
      `basic_equipment without items and not flagged: ${n(result.basic_without_items_unflagged)}`,
    ];
    if (result.ok) {
      lines.push(`Verification passed: every assessment is canonical and consistent`);
    } else {
      lines.push(`Verification failed: ${n(result.offending)} assessments are not canonical and consistent`);
      const more = result.offending > result.offending_ids.length ? ` (first ${result.offending_ids.length})` : '';
      lines.push(`Offending assessment ids${more}: ${result.offending_ids.join(', ')}`);
    }
    return lines;
  }
}
