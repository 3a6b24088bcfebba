import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { AppLogger } from '@app/logging';
import { ErrorTracker } from './error-tracker.service';

/**
 * Uncaught exceptions and unhandled rejections outside requests: logged at fatal (written out at once),
 * reported, flushed within a timeout, then the process exits with 1. Installed by main(), not by tests.
 */
@Injectable()
export class FatalErrorHandler implements OnApplicationShutdown {
  private installed = false;
  private readonly onException = (error: unknown) => void this.die(error, 'uncaughtException');
  private readonly onRejection = (reason: unknown) => void this.die(reason, 'unhandledRejection');

  constructor(
    private readonly logger: AppLogger,
    private readonly tracker: ErrorTracker,
  ) {}

  install(): void {
    if (this.installed) return;
    this.installed = true;
    process.on('uncaughtException', this.onException);
    process.on('unhandledRejection', this.onRejection);
  }

  onApplicationShutdown(): void {
    if (!this.installed) return;
    process.off('uncaughtException', this.onException);
    process.off('unhandledRejection', this.onRejection);
    this.installed = false;
  }

  private async die(error: unknown, origin: string): Promise<void> {
    try {
      const message = error instanceof Error ? error.message : String(error);
      this.logger.logFatal(error, `Process failing on ${origin}: ${message}`, { origin });
      await this.tracker.flush();
    } finally {
      process.exit(1);
    }
  }
}
