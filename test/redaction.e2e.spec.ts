import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, Get, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { PinoLogger } from 'nestjs-pino';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { DatabaseLogger } from '@app/database';
import { AppLogger } from '@app/logging';
import { createTestApp, type TestApp } from './support/app';

// Every secret below contains "hunter2"; every call carries a tag of its own, so the test knows each line was
// written (a missing line cannot pass for a redacted one).
let tags: string[] = [];
const tag = (name: string) => {
  tags.push(name);
  return name;
};

/** The same secrets in every form a line can carry them: fields at any depth, and free text. */
const secretFields = () => ({
  password: 'hunter2-a',
  nested: { token: 'hunter2-b', list: [{ api_key: 'hunter2-c' }] },
});
const secretText = (name: string) =>
  `${tag(name)} password=hunter2-d "token": "hunter2-e" Authorization: Bearer hunter2-f url postgres://app:hunter2-g@db:5432/x`;

@Controller('redaction-probe')
class RedactionProbeController {
  private readonly nest = new Logger('RedactionProbe');

  constructor(
    private readonly logger: AppLogger,
    private readonly pino: PinoLogger,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  @Get()
  async log(): Promise<{ ok: boolean }> {
    for (const level of ['trace', 'debug', 'info', 'warn', 'error'] as const) {
      this.logger[level](secretFields(), tag(`app-${level}-object`));
      this.logger[level](secretText(`app-${level}-string`));
      this.logger[level]({ detail: secretText(`app-${level}-field`) }, 'with text field');
    }
    this.logger.logError('ProbeError', secretText('app-logError'), secretFields());
    this.logger.logException(
      new Error(secretText('app-logException-message')),
      tag('app-logException'),
      secretFields(),
    );
    this.logger.logBusinessEvent(tag('app-business'), {
      ...secretFields(),
      reason: secretText('app-business-reason'),
    });
    this.logger.logMetrics(tag('app-metrics'), 1, { token: 'hunter2-h' });

    for (const level of ['log', 'warn', 'error', 'debug', 'verbose', 'fatal'] as const) {
      this.nest[level](secretText(`nest-${level}-string`));
      this.nest[level]({ ...secretFields(), msg: tag(`nest-${level}-object`) });
    }

    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const) {
      this.pino[level](secretFields(), tag(`pino-${level}-object`));
      this.pino[level](secretText(`pino-${level}-string`));
      this.pino[level]('%s and %o', secretText(`pino-${level}-format`), secretFields());
    }
    // A child logger's bindings are on each of its lines.
    this.pino.assign({ session_token: 'hunter2-i' });
    this.pino.info(tag('pino-assigned'));

    const database = new DatabaseLogger(this.logger, 1000);
    database.logQuery(`SELECT 1 /* ${secretText('db-query')} */`);
    database.logQueryError(
      new Error(secretText('db-error')),
      `SELECT '${tag('db-error-sql')} password=hunter2-j'`,
    );
    database.logQuerySlow(2000, `SELECT 1 /* ${secretText('db-slow')} */`);
    database.log('warn', secretText('db-log-warn'));
    database.log('info', { ...secretFields(), note: tag('db-log-info') });
    // TypeORM's own logger, as a query reaches it.
    await this.dataSource.query(`SELECT '${tag('typeorm-query')}' AS a, 'password=hunter2-k' AS b`);
    return { ok: true };
  }
}

describe('secrets never reach a log line, whichever logger and method wrote it', () => {
  let t: TestApp;
  let everything: string;

  beforeAll(async () => {
    tags = [];
    t = await createTestApp({ LOG_LEVEL: 'trace' }, { controllers: [RedactionProbeController] });
    const server = t.app.getHttpServer();
    await request(server).get('/redaction-probe').set('x-request-id', 'redaction-1').expect(200);
    // The request line names the path: one that matches no route, with secrets in it, is written too.
    await request(server).get('/nope/password=hunter2-l/token:hunter2-m').expect(404);
    // A workflow's failure reason is free text from the client, logged on its business line.
    const started = await request(server).post('/api/workflows').send({ type: 'map_rendering' }).expect(201);
    await request(server)
      .post(`/api/workflows/${started.body.id}/fail`)
      .send({
        error: `${tag('workflow-fail')} login failed password=hunter2-n for https://bot:hunter2-o@example.com`,
      })
      .expect(200);
    await t.stop();
    everything = readdirSync(t.config.logDir)
      .map((name) => readFileSync(join(t.config.logDir, name), 'utf8'))
      .join('\n');
  });
  afterAll(() => t.close());

  it('writes every probe line', () => {
    const missing = tags.filter((name) => !everything.includes(name));
    expect(missing).toEqual([]);
    expect(tags.length).toBeGreaterThanOrEqual(60);
    expect(everything).toContain('"path":"/nope/password=[REDACTED]"');
  });

  it('finds no secret in any file', () => {
    const leaks = everything.split('\n').filter((line) => line.includes('hunter2'));
    expect(leaks).toEqual([]);
  });

  it('keeps the shape of what it redacts', () => {
    const lines = everything
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.find((l) => l.msg === 'app-info-object')).toMatchObject({
      password: '[REDACTED]',
      nested: { token: '[REDACTED]', list: [{ api_key: '[REDACTED]' }] },
    });
    expect((lines.find((l) => String(l.msg).startsWith('app-info-string')) as { msg: string }).msg).toBe(
      'app-info-string password=[REDACTED] "token": "[REDACTED]" Authorization: Bearer [REDACTED] url postgres://[REDACTED]@db:5432/x',
    );
    expect(lines.find((l) => l.event === 'workflow_failed')).toMatchObject({
      error: 'workflow-fail login failed password=[REDACTED] for https://[REDACTED]@example.com',
    });
  });
});
