import './instrument';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ConfigError, loadConfig, type AppConfig } from '@app/config';
import { FatalErrorHandler } from '@app/error-tracking';
import { AppLogger } from '@app/logging';
import { AppModule } from './app.module';
import { APP_OPTIONS, configureApp, createFastifyAdapter } from './app.setup';
import { runtimeWarning } from './runtime';

/** Creates, configures and starts the service; resolves once it listens. */
export async function bootstrap(
  config: AppConfig,
  // For benchmarks and fixtures: runs on the created app before it is configured.
  setup: (app: NestFastifyApplication) => void = () => undefined,
): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config),
    createFastifyAdapter(config),
    { ...APP_OPTIONS, logger: false },
  );
  setup(app);
  await configureApp(app);
  await app.listen({ port: config.port, host: config.host });
  return app;
}

/**
 * SIGTERM and SIGINT close the app (readiness 503, the grace period, in-flight requests finished, logs and
 * Sentry flushed), then the process exits 0: a clean stop, not a death by signal. A second signal during the
 * shutdown exits at once.
 */
function stopOnSignals(app: NestFastifyApplication): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    app.get(AppLogger).info({ signal }, `${signal} received: stopping`);
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`Shutdown failed: ${(error as Error).message ?? String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  try {
    const app = await bootstrap(config);
    app.get(FatalErrorHandler).install();
    stopOnSignals(app);
    const logger = app.get(AppLogger);
    const warning = runtimeWarning();
    if (warning) logger.warn({ node_version: process.versions.node }, warning);
    logger.info(`terra_constellata listening on ${await app.getUrl()} (${config.environment})`);
  } catch (error) {
    process.stderr.write(`Start failed: ${(error as Error).message ?? String(error)}\n`);
    process.exit(1);
  }
}

if (require.main === module) void main();
