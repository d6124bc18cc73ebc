'use strict';
// The naive baseline: TypeORM find() every assessment, classify it, save() each changed entity, in a transaction
// that is rolled back. What a quick port would do.
require('reflect-metadata');
const path = require('node:path');
const { DataSource } = require('typeorm');

const DIST = path.join(__dirname, '..', 'dist', 'src');
const { BASE_DATA_SOURCE_OPTIONS } = require(path.join(DIST, 'database/data-source-options.js'));
const { Assessment } = require(path.join(DIST, 'entities/assessment.entity.js'));
const { EquipmentRules } = require(path.join(DIST, 'equipment-migration/equipment-rules.js'));

async function main() {
  const limit = Number(process.argv[2]);
  const dataSource = new DataSource({ ...BASE_DATA_SOURCE_OPTIONS, url: process.env.DATABASE_URL });
  await dataSource.initialize();
  const queryRunner = dataSource.createQueryRunner();
  await queryRunner.connect();
  await queryRunner.startTransaction();
  const started = process.hrtime.bigint();
  const repository = queryRunner.manager.getRepository(Assessment);
  const assessments = await repository.find({ order: { id: 'ASC' }, take: limit });
  let saved = 0;
  for (const assessment of assessments) {
    const outcome = EquipmentRules.classify({
      equipment: assessment.equipment,
      equipmentItems: assessment.equipmentItems,
      reassessmentRequired: assessment.equipmentReassessmentRequired,
    });
    if (outcome.status !== 'migrated' && outcome.status !== 'flagged') continue;
    assessment.equipment = outcome.write.equipment;
    if (outcome.write.items === 'clear') assessment.equipmentItems = [];
    assessment.equipmentReassessmentRequired = outcome.write.reassessmentRequired;
    await repository.save(assessment);
    saved += 1;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await queryRunner.rollbackTransaction();
  await queryRunner.release();
  await dataSource.destroy();
  process.stdout.write(JSON.stringify({ rows: assessments.length, saved, seconds }) + '\n');
}

main().catch((error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
