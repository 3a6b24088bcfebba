import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { FeedbackEntity } from './entities/feedback.entity';

export interface WriteResult {
  record: FeedbackEntity;
  /** True when an earlier submission with the same Idempotency-Key was returned instead. */
  replayed: boolean;
}

interface Pending {
  row: FeedbackEntity;
  resolve(result: WriteResult): void;
  reject(error: unknown): void;
}

const MAX_BATCH = 250;

const COLUMNS = [
  'id',
  'target_type',
  'target_id',
  'rating',
  'comment',
  'category',
  'tags',
  'metadata',
  'sentiment',
  'user_id',
  'request_id',
  'idempotency_key',
  'created_at',
];

/**
 * Group commit: a submission is inserted at once when the database is idle; while inserts are in flight, new
 * submissions wait and go together in the next multi-row INSERT. Nothing waits on a timer, and every promise
 * resolves only after its row is committed, so a 201 still means stored.
 */
@Injectable()
export class FeedbackWriter {
  private queue: Pending[] = [];
  private inFlight = 0;
  private readonly maxInFlight: number;

  private readonly postgres: boolean;
  private readonly statements = new Map<number, string>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.postgres = dataSource.options.type === 'postgres';
    // SQLite has one writer; PostgreSQL takes a few batches at once from the pool.
    this.maxInFlight = this.postgres ? 4 : 1;
  }

  write(row: FeedbackEntity): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      this.drain();
    });
  }

  // The INSERT TypeORM's query builder would send, built once per batch size: its per-row entity handling
  // was the largest cost of a submission. A row whose Idempotency-Key is taken is skipped, not an error, so one
  // retry cannot fail its neighbours.
  private statement(rows: number): string {
    let sql = this.statements.get(rows);
    if (!sql) {
      const width = COLUMNS.length;
      const tuples = Array.from({ length: rows }, (_, r) =>
        this.postgres
          ? `(${COLUMNS.map((_c, c) => `$${r * width + c + 1}`).join(', ')})`
          : `(${COLUMNS.map(() => '?').join(', ')})`,
      ).join(', ');
      const columns = COLUMNS.map((c) => `"${c}"`).join(', ');
      sql = this.postgres
        ? `INSERT INTO "feedback" (${columns}) VALUES ${tuples} ON CONFLICT DO NOTHING`
        : `INSERT OR IGNORE INTO "feedback" (${columns}) VALUES ${tuples}`;
      this.statements.set(rows, sql);
    }
    return sql;
  }

  private values(row: FeedbackEntity): unknown[] {
    return [
      row.id,
      row.targetType,
      row.targetId,
      row.rating,
      row.comment,
      row.category,
      JSON.stringify(row.tags),
      row.metadata === null ? null : JSON.stringify(row.metadata),
      row.sentiment,
      row.userId,
      row.requestId,
      row.idempotencyKey,
      // PostgreSQL takes the Date (written as UTC, see @app/database); SQLite stores TypeORM's UTC text form.
      this.postgres ? row.createdAt : row.createdAt.toISOString().replace('T', ' ').replace('Z', ''),
    ];
  }

  private drain(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      this.inFlight++;
      void this.insert(batch).finally(() => {
        this.inFlight--;
        this.drain();
      });
    }
  }

  private async insert(batch: Pending[]): Promise<void> {
    const repo = this.dataSource.getRepository(FeedbackEntity);
    try {
      await this.dataSource.query(
        this.statement(batch.length),
        batch.flatMap((p) => this.values(p.row)),
      );
      const keyed = batch.filter((p) => p.row.idempotencyKey);
      const skipped = new Set<string>();
      if (keyed.length > 0) {
        const stored = await repo.find({
          select: { id: true },
          where: { id: In(keyed.map((p) => p.row.id)) },
        });
        const storedIds = new Set(stored.map((row) => row.id));
        for (const p of keyed) if (!storedIds.has(p.row.id)) skipped.add(p.row.id);
      }
      const originals = new Map<string, FeedbackEntity>();
      if (skipped.size > 0) {
        const keys = batch.filter((p) => skipped.has(p.row.id)).map((p) => p.row.idempotencyKey!);
        for (const row of await repo.findBy({ idempotencyKey: In(keys) }))
          originals.set(row.idempotencyKey!, row);
      }
      for (const p of batch) {
        if (!skipped.has(p.row.id)) p.resolve({ record: p.row, replayed: false });
        else {
          const original = originals.get(p.row.idempotencyKey!);
          if (original) p.resolve({ record: original, replayed: true });
          else
            p.reject(new Error(`feedback ${p.row.id} was neither stored nor found by its idempotency key`));
        }
      }
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }
}
