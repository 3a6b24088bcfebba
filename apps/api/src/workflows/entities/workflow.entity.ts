import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export const WORKFLOW_STATUSES = ['running', 'completed', 'failed'] as const;
export type WorkflowStatus = (typeof WORKFLOW_STATUSES)[number];

@Entity({ name: 'workflows' })
@Index('idx_workflows_type_started', ['type', 'startedAt'])
export class WorkflowEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 64 })
  type!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: WorkflowStatus;

  @Column({ type: 'simple-json', nullable: true })
  input!: object | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ name: 'started_at' })
  startedAt!: Date;

  @Column({ name: 'ended_at', nullable: true, type: Date })
  endedAt!: Date | null;
}
