import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

@Entity({ name: 'artworks' })
@Index('idx_artworks_workflow', ['workflowId'])
export class ArtworkEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'workflow_id', type: 'varchar', length: 36, nullable: true })
  workflowId!: string | null;

  @Column({ type: 'varchar', length: 64 })
  style!: string;

  @Column({ name: 'created_at' })
  createdAt!: Date;
}
