import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { User } from './user.entity';

/**
 * A user's fitness assessment. `equipment` is jsonb because legacy rows hold a JSON array, a JSON string or worse;
 * after the equipment migration it holds one JSON string: full_gym, basic_equipment or no_equipment.
 */
@Entity({ name: 'assessments' })
export class Assessment {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ name: 'user_id', type: 'int' })
  userId!: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'user_id' })
  user?: User;

  @Column({ type: 'varchar', length: 64, nullable: true })
  sport!: string | null;

  @Column({ type: 'int', nullable: true })
  age!: number | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  experience!: string | null;

  @Column({ type: 'jsonb', nullable: true })
  equipment!: unknown;

  @Column({ name: 'equipment_items', type: 'jsonb', default: () => "'[]'" })
  equipmentItems!: unknown;

  @Column({ name: 'equipment_reassessment_required', type: 'boolean', default: false })
  equipmentReassessmentRequired!: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
