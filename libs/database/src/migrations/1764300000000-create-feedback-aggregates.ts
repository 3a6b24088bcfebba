import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

// Roll-ups of the feedback table, kept by the writers in the transaction of the rows they count, so that reads
// cost what their answer is worth. The rows already stored are counted by the back-fill that the service runs in
// bounded batches after start (the state row says it is due): a migration holds the start of every replica, and
// a long one would meet the startup probe.
export class CreateFeedbackAggregates1764300000000 implements MigrationInterface {
  name = 'CreateFeedbackAggregates1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.options.type === 'postgres';
    const timestamp = postgres ? 'timestamp' : 'datetime';
    // Bucket keys compare as text ('2026-12-03' < '2026-12-03 07' < '2026-12-04'): byte order, whatever the
    // database's locale.
    const collation = postgres ? 'C' : undefined;
    const dimensions = [
      { name: 'target_type', type: 'varchar', length: '16', isPrimary: true },
      { name: 'category', type: 'varchar', length: '32', isPrimary: true },
      { name: 'rating', type: 'smallint', isPrimary: true },
      { name: 'sentiment', type: 'varchar', length: '16', isPrimary: true },
    ];
    await queryRunner.createTable(
      new Table({
        name: 'feedback_rollups',
        columns: [
          // 'all' (bucket ''), 'day' (bucket 'YYYY-MM-DD') or 'hour' (bucket 'YYYY-MM-DD HH'), in UTC.
          { name: 'grain', type: 'varchar', length: '4', isPrimary: true, collation },
          { name: 'bucket', type: 'varchar', length: '13', isPrimary: true, collation },
          ...dimensions,
          { name: 'count', type: 'bigint' },
          { name: 'sum', type: 'bigint' },
        ],
      }),
      true,
    );
    await queryRunner.createTable(
      new Table({
        name: 'feedback_targets',
        columns: [
          { name: 'target_type', type: 'varchar', length: '16', isPrimary: true, collation },
          { name: 'target_id', type: 'varchar', length: '128', isPrimary: true, collation },
          { name: 'count', type: 'bigint' },
          { name: 'sum', type: 'bigint' },
          { name: 'raters', type: 'bigint' },
          { name: 'first_at', type: timestamp },
          { name: 'last_at', type: timestamp },
        ],
      }),
      true,
    );
    await queryRunner.createTable(
      new Table({
        name: 'feedback_target_raters',
        columns: [
          { name: 'target_type', type: 'varchar', length: '16', isPrimary: true, collation },
          { name: 'target_id', type: 'varchar', length: '128', isPrimary: true, collation },
          { name: 'rater', type: 'varchar', length: '160', isPrimary: true, collation },
        ],
      }),
      true,
    );
    await queryRunner.createTable(
      new Table({
        name: 'feedback_aggregates_state',
        columns: [
          { name: 'name', type: 'varchar', length: '32', isPrimary: true },
          // 'backfill' until the rows stored before this migration are counted, then 'ready'.
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'progress', type: 'varchar', length: '200', isNullable: true },
          { name: 'updated_at', type: timestamp },
        ],
      }),
      true,
    );
    const [any] = (await queryRunner.query('SELECT 1 AS one FROM feedback LIMIT 1')) as unknown[];
    await queryRunner.query(
      `INSERT INTO feedback_aggregates_state (name, status, progress, updated_at) VALUES ('feedback', ${
        any ? "'backfill'" : "'ready'"
      }, NULL, ${postgres ? "now() AT TIME ZONE 'UTC'" : "strftime('%Y-%m-%d %H:%M:%f', 'now')"})`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'feedback_aggregates_state',
      'feedback_target_raters',
      'feedback_targets',
      'feedback_rollups',
    ])
      await queryRunner.dropTable(table, true);
  }
}
