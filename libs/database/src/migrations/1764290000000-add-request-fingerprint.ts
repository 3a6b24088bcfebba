import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

// Idempotency keys are now scoped to the caller, endpoint and target (the stored key is a digest of those and
// the client's key), and a retry must carry the same request: its fingerprint is kept beside the key.
export class AddRequestFingerprint1764290000000 implements MigrationInterface {
  name = 'AddRequestFingerprint1764290000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'feedback',
      new TableColumn({ name: 'request_fingerprint', type: 'varchar', length: '64', isNullable: true }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('feedback', 'request_fingerprint');
  }
}
