import { CreateUsersAndAssessments1795771857148 } from './1795771857148-CreateUsersAndAssessments';

// Every schema migration, in order. `npm run migration:generate -- src/migrations/<Name>` writes a new file: add it here.
export const MIGRATIONS = [CreateUsersAndAssessments1795771857148];
