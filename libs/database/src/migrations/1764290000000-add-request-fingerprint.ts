import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

// Idempotency keys are now scoped to the caller, endpoint and target (the stored key is a digest of those and
// the client's key), and a retry must carry the same request: its fingerprint is kept beside the key. Who rated
// (the user, or a digest of the client's address) is kept so that a target is flagged only by distinct raters.
export class AddRequestFingerprint1764290000000 implements MigrationInterface {
  name = 'AddRequestFingerprint1764290000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('feedback', [
      new TableColumn({ name: 'request_fingerprint', type: 'varchar', length: '64', isNullable: true }),
      new TableColumn({ name: 'rater', type: 'varchar', length: '160', isNullable: true }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumns('feedback', ['rater', 'request_fingerprint']);
  }
}
