import { CreateUsersAndAssessments1795771857148 } from './1795771857148-CreateUsersAndAssessments';
import { AddEquipmentMigrationAudit1795775815539 } from './1795775815539-AddEquipmentMigrationAudit';
import { DropAuditChangesRunForeignKey1796300000000 } from './1796300000000-DropAuditChangesRunForeignKey';
import { AddOnlineRunProgress1796400000000 } from './1796400000000-AddOnlineRunProgress';
import { AllowNullItemsInAuditChanges1796500000000 } from './1796500000000-AllowNullItemsInAuditChanges';

// Every schema migration, in order. `npm run migration:generate -- src/migrations/<Name>` writes a new file: add it here.
export const MIGRATIONS = [
  CreateUsersAndAssessments1795771857148,
  AddEquipmentMigrationAudit1795775815539,
  DropAuditChangesRunForeignKey1796300000000,
  AddOnlineRunProgress1796400000000,
  AllowNullItemsInAuditChanges1796500000000,
];
