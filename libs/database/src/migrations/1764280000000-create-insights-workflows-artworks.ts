import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

export class CreateInsightsWorkflowsArtworks1764280000000 implements MigrationInterface {
  name = 'CreateInsightsWorkflowsArtworks1764280000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const timestamp = queryRunner.connection.options.type === 'postgres' ? 'timestamp' : 'datetime';
    await queryRunner.createTable(
      new Table({
        name: 'feedback_insights',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'computed_at', type: timestamp },
          { name: 'trigger', type: 'varchar', length: '16' },
          { name: 'payload', type: 'text' },
        ],
        indices: [new TableIndex({ name: 'idx_feedback_insights_computed', columnNames: ['computed_at'] })],
      }),
      true,
    );
    await queryRunner.createTable(
      new Table({
        name: 'workflows',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'type', type: 'varchar', length: '64' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'input', type: 'text', isNullable: true },
          { name: 'error', type: 'text', isNullable: true },
          { name: 'started_at', type: timestamp },
          { name: 'ended_at', type: timestamp, isNullable: true },
        ],
        indices: [
          new TableIndex({ name: 'idx_workflows_type_started', columnNames: ['type', 'started_at'] }),
        ],
      }),
      true,
    );
    await queryRunner.createTable(
      new Table({
        name: 'artworks',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'workflow_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'style', type: 'varchar', length: '64' },
          { name: 'created_at', type: timestamp },
        ],
        indices: [new TableIndex({ name: 'idx_artworks_workflow', columnNames: ['workflow_id'] })],
      }),
      true,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('artworks', true);
    await queryRunner.dropTable('workflows', true);
    await queryRunner.dropTable('feedback_insights', true);
  }
}
