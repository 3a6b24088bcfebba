import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

// Written against TypeORM's schema API rather than SQL so the one migration serves PostgreSQL and SQLite.
export class CreateFeedback1764270000000 implements MigrationInterface {
  name = 'CreateFeedback1764270000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const timestamp = queryRunner.connection.options.type === 'postgres' ? 'timestamp' : 'datetime';
    await queryRunner.createTable(
      new Table({
        name: 'feedback',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'target_type', type: 'varchar', length: '16' },
          { name: 'target_id', type: 'varchar', length: '128', isNullable: true },
          { name: 'rating', type: 'smallint' },
          { name: 'comment', type: 'text', isNullable: true },
          { name: 'category', type: 'varchar', length: '32' },
          { name: 'tags', type: 'text' },
          { name: 'metadata', type: 'text', isNullable: true },
          { name: 'sentiment', type: 'varchar', length: '16' },
          { name: 'user_id', type: 'varchar', length: '128', isNullable: true },
          { name: 'request_id', type: 'varchar', length: '128', isNullable: true },
          { name: 'idempotency_key', type: 'varchar', length: '128', isNullable: true, isUnique: true },
          { name: 'created_at', type: timestamp },
        ],
        checks: [{ name: 'chk_feedback_rating', expression: 'rating BETWEEN 1 AND 5' }],
      }),
      true,
    );
    await queryRunner.createIndices('feedback', [
      new TableIndex({ name: 'idx_feedback_created', columnNames: ['created_at', 'id'] }),
      new TableIndex({ name: 'idx_feedback_type_created', columnNames: ['target_type', 'created_at'] }),
      new TableIndex({
        name: 'idx_feedback_target',
        columnNames: ['target_type', 'target_id', 'created_at'],
      }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('feedback', true);
  }
}
