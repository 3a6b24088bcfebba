import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Type } from '@nestjs/common';
import { parseConfig, type AppConfig } from '@app/config';
import { AppModule } from '../../apps/api/src/app.module';
import { APP_OPTIONS, configureApp, createFastifyAdapter } from '../../apps/api/src/app.setup';
import { captureResponses, ContractChecker, type Captured } from './contract';
import { assertNoDuplicateKeys } from './log-lines';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  dir: string;
  /** Closes the app (flushing its logs) and keeps its files; safe to call twice. */
  stop(): Promise<void>;
  /** stop(), then removes the app's files. */
  close(): Promise<void>;
}

/**
 * The real AppModule with its global pipe and filter, on the real Fastify adapter, for supertest.
 * Each app gets its own temporary directory for the SQLite file and logs unless the env says otherwise.
 */
export async function createTestApp(
  env: Record<string, string> = {},
  extra: {
    controllers?: Type[];
    imports?: Type[];
    overrides?: Array<{ provide: Type; useValue: unknown }>;
  } = {},
): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'tc-app-'));
  const config = parseConfig({
    ENVIRONMENT: 'test',
    SQLITE_PATH: join(dir, 'db.sqlite'),
    LOG_DIR: join(dir, 'logs'),
    LOG_CONSOLE: 'off',
    // Tests send thousands of writes from one address; the rate-limit tests set their own.
    RATE_LIMIT_WRITES: '0',
    RATE_LIMIT_READS: '0',
    ...env,
  });
  const builder = Test.createTestingModule({
    imports: [AppModule.forRoot(config), ...(extra.imports ?? [])],
    controllers: extra.controllers ?? [],
  });
  for (const { provide, useValue } of extra.overrides ?? [])
    builder.overrideProvider(provide).useValue(useValue);
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(
    createFastifyAdapter(config),
    APP_OPTIONS,
  );
  await configureApp(app);
  const fastify = app.getHttpAdapter().getInstance();
  const responses: Captured[] = [];
  captureResponses(fastify, responses);
  await app.init();
  await fastify.ready();
  // Every response this app sent, checked against the service's OpenAPI document before it closes.
  const checkContract = async () => {
    const document = (await fastify.inject({ url: '/api/docs-json' })).json();
    const checker = new ContractChecker(document);
    const violations = responses.flatMap((response) => checker.check(response));
    if (violations.length > 0)
      throw new Error(
        `${violations.length} responses break the OpenAPI contract:\n${[...new Set(violations)].slice(0, 20).join('\n')}`,
      );
  };
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      try {
        await checkContract();
      } finally {
        await app.close();
      }
      // Once the files are flushed: no line of this app wrote a key twice.
      assertNoDuplicateKeys(config.logDir);
    })());
  return {
    app,
    config,
    dir,
    stop,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
