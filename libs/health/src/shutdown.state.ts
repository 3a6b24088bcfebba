import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '@app/config';
import { AppLogger } from '@app/logging';

/**
 * Turns readiness to 503 as soon as shutdown begins, then keeps serving for SHUTDOWN_GRACE_MS so the load
 * balancer stops sending traffic before the server stops accepting it; Fastify then lets in-flight requests finish.
 */
@Injectable()
export class ShutdownState implements BeforeApplicationShutdown {
  private shuttingDown = false;

  constructor(
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {}

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.shuttingDown = true;
    this.logger.info(
      { signal, grace_ms: this.config.shutdownGraceMs },
      'Shutting down: readiness now answers 503; the server closes after the grace period',
    );
    if (this.config.shutdownGraceMs > 0) await sleep(this.config.shutdownGraceMs);
  }
}
