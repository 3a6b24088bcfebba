import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { isRowDataError } from '@app/database';
import type { FeedbackEntity } from './entities/feedback.entity';
import { FeedbackRepository } from './feedback.repository';

export interface WriteResult {
  record: FeedbackEntity;
  /** True when an earlier submission with the same Idempotency-Key was returned instead. */
  replayed: boolean;
}

interface Pending {
  row: FeedbackEntity;
  queuedAt: number;
  resolve(result: WriteResult): void;
  reject(error: unknown): void;
}

const MAX_BATCH = 250;

/**
 * Group commit: the submissions received in one turn of the event loop go in one multi-row INSERT (with their
 * roll-ups); while inserts are in flight, new submissions wait and go together in the next. Nothing waits on a
 * timer, and every promise
 * resolves only after its row is committed, so a 201 still means stored. The wait is bounded twice: by the queue's
 * length (FEEDBACK_WRITE_QUEUE_MAX) and by time: a submission that waited longer than the statement timeout
 * before its INSERT could start is answered 503 instead of waiting on.
 */
@Injectable()
export class FeedbackWriter {
  private queue: Pending[] = [];
  private inFlight = 0;
  private drainScheduled = false;
  private readonly maxInFlight: number;

  constructor(
    private readonly repository: FeedbackRepository,
    private readonly config: AppConfig,
  ) {
    // SQLite has one writer. On PostgreSQL every batch updates the same hot roll-up rows (this hour, this day,
    // all time), so batches in flight at once wait on each other's row locks: with the roll-ups, four in flight
    // wrote 0.75 of what the same service wrote without them here, two 0.83, one 0.84 (bench/README.md).
    this.maxInFlight = repository.postgres ? 2 : 1;
  }

  write(row: FeedbackEntity): Promise<WriteResult> {
    // Bounded: when the database stalls, waiting submissions must not pile up in memory without end.
    if (this.queue.length >= this.config.writeQueueMax) {
      return Promise.reject(
        new ServiceUnavailableException(
          `Too many submissions are waiting for the database (FEEDBACK_WRITE_QUEUE_MAX=${this.config.writeQueueMax}); retry later`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ row, queuedAt: Date.now(), resolve, reject });
      if (!this.drainScheduled) {
        // The submissions parsed in this turn of the event loop go together. Without this, SQLite (which
        // commits synchronously) always finds the database idle and commits each submission alone: 2,450 a
        // second with the roll-ups against 7,850 this way (bench/README.md, growth).
        // setImmediate is no timer: it runs as soon as this turn's I/O callbacks have.
        this.drainScheduled = true;
        setImmediate(() => {
          this.drainScheduled = false;
          this.drain();
        });
      }
    });
  }

  private drain(): void {
    const oldest = Date.now() - this.config.database.statementTimeoutMs;
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch: Pending[] = [];
      for (const p of this.queue.splice(0, MAX_BATCH)) {
        if (p.queuedAt >= oldest) batch.push(p);
        else p.reject(new ServiceUnavailableException('Waited too long for the database; retry later'));
      }
      if (batch.length === 0) continue;
      this.inFlight++;
      void this.insert(batch).finally(() => {
        this.inFlight--;
        this.drain();
      });
    }
  }

  private async insert(batch: Pending[]): Promise<void> {
    try {
      const { skipped, originals } = await this.repository.insertMany(batch.map((p) => p.row));
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
      // One row's bad data must not fail the others that happened to share its INSERT: retry each alone.
      if (batch.length > 1 && isRowDataError(error)) {
        for (const p of batch) await this.insert([p]);
      } else {
        for (const p of batch) p.reject(error);
      }
    }
  }
}
