import {
  Injectable,
  ServiceUnavailableException,
  type OnModuleInit,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppLogger } from '@app/logging';
import { FeedbackRepository } from '../feedback.repository';
import { rebuildAggregates } from './aggregates-rebuild';
import { FeedbackAggregatesRepository } from './feedback-aggregates.repository';

/** The advisory lock of the back-fill and of `npm run db:rebuild-aggregates` (PostgreSQL). */
export const AGGREGATES_LOCK = 7_203_114_502;
const POLL_MS = 1000;
const RETRY_MS = 5000;

/**
 * Whether the roll-ups count every stored row. After the migration that creates them on a table that already
 * has rows, one replica back-fills them in bounded slices (under an advisory lock; the others wait and poll),
 * while every replica keeps accepting feedback; until then statistics and insights answer 503 with the progress.
 */
@Injectable()
export class FeedbackAggregatesService implements OnModuleInit, OnApplicationShutdown {
  private ready = false;
  private progress: string | null = null;
  private stopping = false;
  private readonly abort = new AbortController();
  private filling: Promise<void> | undefined;

  constructor(
    private readonly aggregates: FeedbackAggregatesRepository,
    private readonly feedback: FeedbackRepository,
    private readonly logger: AppLogger,
  ) {}

  // Awaited before the application bootstraps, so the learning loop's first interval knows the state.
  async onModuleInit(): Promise<void> {
    const state = await this.aggregates.state();
    if (state.status === 'ready') {
      this.ready = true;
      return;
    }
    this.progress = state.progress;
    this.logger.warn(
      'Feedback aggregates: back-filling the roll-ups from the stored rows; statistics and insights answer 503 until it ends, submissions are accepted',
    );
    this.filling = this.fill();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    await this.filling;
  }

  /** True once the roll-ups count every stored row. */
  get isReady(): boolean {
    return this.ready;
  }

  /** Throws the 503 a reader of the roll-ups answers while the back-fill runs. */
  assertReady(): void {
    if (!this.ready)
      throw new ServiceUnavailableException(
        `Feedback statistics are being back-filled from the stored rows (${this.progress ?? 'starting'}); retry in a minute`,
      );
  }

  private async fill(): Promise<void> {
    while (!this.ready && !this.stopping) {
      try {
        if (this.aggregates.postgres) {
          const done = await this.feedback.asLeader(AGGREGATES_LOCK, () => this.backfill());
          if (done === false) {
            const state = await this.aggregates.state();
            this.progress = state.progress;
            if (state.status === 'ready') this.ready = true;
            else await sleep(POLL_MS);
          }
        } else {
          await this.backfill();
        }
      } catch (error) {
        if (this.stopping) break;
        this.logger.logException(error, 'Feedback aggregates: the back-fill failed; retrying', {
          retry_in_ms: RETRY_MS,
        });
        await sleep(RETRY_MS);
      }
    }
    if (this.ready) this.logger.info('Feedback aggregates: ready; statistics and insights read the roll-ups');
  }

  private async backfill(): Promise<void> {
    // Another replica may have finished while this one waited for the lock.
    if ((await this.aggregates.state()).status === 'ready') {
      this.ready = true;
      return;
    }
    await rebuildAggregates(
      this.aggregates,
      async (line) => {
        this.progress = line;
        this.logger.info(line);
        await this.aggregates.setState('backfill', line.slice(0, 200));
      },
      this.abort.signal,
    );
    await this.aggregates.setState('ready', null);
    this.ready = true;
  }
}
