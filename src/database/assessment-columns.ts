import { DataSource } from 'typeorm';
import { Assessment } from '../entities/assessment.entity';
import { User } from '../entities/user.entity';
import { entityColumns } from './entity-columns';

/** Escaped table and column names of assessments (and users), from the entities' metadata: the one source of truth. */
export interface AssessmentColumns {
  table: string;
  id: string;
  userId: string;
  equipment: string;
  items: string;
  flag: string;
  updatedAt: string;
  users: string;
  usersId: string;
  usersEmail: string;
}

export function assessmentColumns(connection: DataSource): AssessmentColumns {
  const a = entityColumns(connection, Assessment, {
    id: 'id',
    userId: 'userId',
    equipment: 'equipment',
    items: 'equipmentItems',
    flag: 'equipmentReassessmentRequired',
    updatedAt: 'updatedAt',
  });
  const u = entityColumns(connection, User, { id: 'id', email: 'email' });
  return { ...a, users: u.table, usersId: u.id, usersEmail: u.email };
}
