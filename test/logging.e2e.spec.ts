import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Body, Controller, Get, Logger, Param, Post } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { IsOptional, IsString } from 'class-validator';
import { PinoLogger } from 'nestjs-pino';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { parseConfig } from '@app/config';
import { AppLogger, createRootLogger, RequestContextService, RotatingFileStream } from '@app/logging';
import { createTestApp, type TestApp } from './support/app';
import { BUILT_MAIN, startBuiltApp } from './support/built-app';
import { logql } from './support/logql';

class LoginDto {
  @IsString()
  username!: string;

  @IsOptional()
  @IsString()
  password?: string;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

@Controller('log-probe')
class LogProbeController {
  private readonly nestLogger = new Logger('LogProbe');

  constructor(
    private readonly logger: AppLogger,
    private readonly pino: PinoLogger,
    private readonly context: RequestContextService,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  @Post('login')
  async login(@Body() dto: LoginDto): Promise<{ requestId: string | undefined }> {
    // After an await too: the context follows the request's asynchronous work.
    await new Promise((resolve) => setImmediate(resolve));
    this.logger.info({ username: dto.username }, 'handler saw the body');
    return { requestId: this.context.requestId };
  }

  @Post('finish')
  completed(): { ok: boolean } {
    this.context.setUserId('user-after-auth');
    this.logger.logBusinessEvent('workflow_completed', {
      workflow_id: 'wf-123',
      api_key: 'supersecret-business',
    });
    return { ok: true };
  }

  @Get('helpers')
  helpers(): { ok: boolean } {
    this.logger.logRequest('req-123', 'GET', '/api/health', 'user-456');
    this.logger.logResponse('req-123', 200, 0.045);
    this.logger.logError('DatabaseError', 'Connection timeout', {
      user_id: 'user-456',
      credentials: { password: 'supersecret-nested', token: 'supersecret-token' },
    });
    this.logger.logMetrics('response_time', 0.045, { endpoint: '/api/health' });
    return { ok: true };
  }

  /** Writes through every logger a request can reach, awaiting between them, so requests interleave. */
  @Get('each/:n')
  async each(@Param('n') n: string): Promise<{ n: number }> {
    const i = Number(n);
    this.nestLogger.log(`each nest ${i}`);
    await pause(i % 7);
    this.pino.info(`each pino ${i}`);
    await pause(i % 5);
    this.logger.info({ i }, `each app ${i}`);
    await this.dataSource.query(`SELECT ${i} AS each_probe`);
    await pause(i % 3);
    if (i % 2 === 0) this.context.setUserId(`user-${i}`);
    this.logger.logBusinessEvent(`each business ${i}`);
    this.nestLogger.warn(`each nest-after ${i}`);
    return { n: i };
  }

  @Get('boom')
  boom(): never {
    throw new TypeError('kaboom in the handler');
  }
}

function readLines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

function parse(lines: string[]): Array<Record<string, unknown>> {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('logs written by the real app', () => {
  let t: TestApp;
  let all: string[];
  let errors: string[];
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await createTestApp(
      { ENVIRONMENT: 'production', LOG_LEVEL: 'metrics' },
      { controllers: [LogProbeController] },
    );
    const server = t.app.getHttpServer();
    const secretHeaders = {
      authorization: 'Bearer supersecret-header',
      cookie: 'session=supersecret-cookie',
    };
    const record = async (name: string, res: Promise<request.Response>) => {
      ids[name] = (await res).headers['x-request-id'];
    };
    await record('ok', request(server).get('/').set(secretHeaders).set('x-user-id', 'user-456').expect(200));
    await record('notFound', request(server).get('/no/such/page?token=supersecret-query').expect(404));
    await record(
      'badBody',
      request(server).post('/log-probe/login').send({ password: 'supersecret-body' }).expect(400),
    );
    await record(
      'login',
      request(server)
        .post('/log-probe/login')
        .set('x-request-id', 'login-req-1')
        .send({ username: 'ada', password: 'supersecret-body' })
        .expect(201),
    );
    await record('boom', request(server).get('/log-probe/boom').expect(500));
    await record('completed', request(server).post('/log-probe/finish').expect(201));
    await record('helpers', request(server).get('/log-probe/helpers').expect(200));
    await record('metrics', request(server).get('/metrics').expect(200));
    // Closing flushes the files, as a SIGTERM does in production.
    await t.stop();
    all = readLines(join(t.config.logDir, 'terra_constellata.log'));
    errors = readLines(join(t.config.logDir, 'errors.log'));
  });

  afterAll(() => t.close());

  it('writes every line as JSON with time, level label, msg, service, environment and version', () => {
    expect(all.length).toBeGreaterThan(10);
    for (const line of parse(all)) {
      expect(line).toMatchObject({
        service: 'terra_constellata',
        environment: 'production',
        version: t.config.releaseVersion,
      });
      expect(typeof line.msg).toBe('string');
      expect(line.level).toMatch(/^(TRACE|DEBUG|METRICS|INFO|BUSINESS|WARN|ERROR|FATAL)$/);
      expect(new Date(line.time as string).toISOString()).toBe(line.time);
    }
  });

  it('writes exactly one "API Request" line per request, with the same id as the response header', () => {
    const requestLines = parse(all).filter((line) => line.msg === 'API Request');
    const byId = new Map<string, Array<Record<string, unknown>>>();
    for (const line of requestLines)
      byId.set(line.request_id as string, [...(byId.get(line.request_id as string) ?? []), line]);
    for (const name of ['ok', 'notFound', 'badBody', 'login', 'boom', 'completed', 'helpers']) {
      expect(byId.get(ids[name])).toHaveLength(1);
    }
    expect(ids.login).toBe('login-req-1');
    expect(byId.get(ids.ok)![0]).toMatchObject({
      level: 'INFO',
      method: 'GET',
      route: '/',
      path: '/',
      status_code: 200,
      user_id: 'user-456',
    });
    expect(byId.get(ids.ok)![0].duration_ms).toEqual(expect.any(Number));
    expect(byId.get(ids.notFound)![0]).toMatchObject({
      level: 'WARN',
      route: 'UNMATCHED',
      path: '/no/such/page',
      status_code: 404,
    });
    expect(byId.get(ids.boom)![0]).toMatchObject({
      level: 'ERROR',
      route: '/log-probe/boom',
      status_code: 500,
    });
  });

  it('does not write a request line for /metrics scrapes at info', () => {
    expect(parse(all).filter((line) => line.route === '/metrics')).toEqual([]);
  });

  it('selects exactly the right lines with the documented LogQL queries', () => {
    const errorLines = logql('{job="terra_constellata"} |= "ERROR"', all);
    expect(errorLines.length).toBeGreaterThan(0);
    expect(errorLines).toEqual(all.filter((line) => JSON.parse(line).level === 'ERROR'));

    const failed = parse(
      logql('{job="terra_constellata"} |= "API Request" | json | status_code >= 400', all),
    );
    expect(failed.map((line) => line.request_id).sort()).toEqual(
      [ids.notFound, ids.badBody, ids.boom].sort(),
    );

    const completions = parse(logql('{job="terra_constellata"} |= "workflow" |= "completed"', all));
    expect(completions).toHaveLength(1);
    expect(completions[0]).toMatchObject({
      level: 'BUSINESS',
      msg: 'workflow_completed',
      event: 'workflow_completed',
      workflow_id: 'wf-123',
      request_id: ids.completed,
      user_id: 'user-after-auth',
    });
    // The request line also learns the user once the handler knows it.
    expect(parse(all).find((l) => l.msg === 'API Request' && l.request_id === ids.completed)).toMatchObject({
      user_id: 'user-after-auth',
    });
  });

  it('puts errors in errors.log with their full stack, and nothing below error', () => {
    const lines = parse(errors);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(['ERROR', 'FATAL']).toContain(line.level);
    const thrown = lines.find((line) => (line.err as { type?: string } | undefined)?.type === 'TypeError');
    expect(thrown).toMatchObject({ request_id: ids.boom, route: '/log-probe/boom', method: 'GET' });
    const stack = (thrown!.err as { stack: string }).stack;
    expect(stack).toContain('TypeError: kaboom in the handler');
    expect(stack).toMatch(/at LogProbeController\.boom \(.*logging\.e2e\.spec\.ts:\d+:\d+\)/);
    expect(lines.some((line) => line.msg === 'API Request' && line.request_id === ids.boom)).toBe(true);
  });

  it('binds the request id to lines logged inside a handler, after the body was parsed', () => {
    const line = parse(all).find((l) => l.msg === 'handler saw the body');
    expect(line).toMatchObject({ request_id: 'login-req-1', username: 'ada' });
  });

  it('implements the logging helpers (logRequest, logResponse, logError, logMetrics) with custom levels, a context overriding request fields without repeating keys', () => {
    const lines = parse(all);
    expect(lines.find((l) => l.msg === 'Request received')).toMatchObject({
      level: 'INFO',
      request_id: 'req-123',
      method: 'GET',
      path: '/api/health',
      user_id: 'user-456',
    });
    // logResponse writes the same "API Request" line the request pipeline writes for every request.
    expect(lines.find((l) => l.msg === 'API Request' && l.request_id === 'req-123')).toMatchObject({
      level: 'INFO',
      status_code: 200,
      duration_ms: 45,
    });
    expect(lines.find((l) => l.msg === 'Connection timeout')).toMatchObject({
      level: 'ERROR',
      error_type: 'DatabaseError',
      request_id: ids.helpers,
      user_id: 'user-456',
      credentials: { password: '[REDACTED]', token: '[REDACTED]' },
    });
    for (const line of all) expect(line.match(/"user_id":/g)?.length ?? 0).toBeLessThanOrEqual(1);
    for (const line of all) expect(line.match(/"request_id":/g)?.length ?? 0).toBeLessThanOrEqual(1);
    expect(lines.find((l) => l.msg === 'metric response_time')).toMatchObject({
      level: 'METRICS',
      metric: 'response_time',
      value: 0.045,
      labels: { endpoint: '/api/health' },
    });
  });

  it('never writes a secret to any file', () => {
    const everything = readdirSync(t.config.logDir)
      .map((name) => readFileSync(join(t.config.logDir, name), 'utf8'))
      .join('\n');
    expect(everything.length).toBeGreaterThan(1000);
    expect(everything).not.toContain('supersecret');
  });
});

describe('the request context under concurrency', () => {
  let t: TestApp;
  let lines: Array<Record<string, unknown>>;
  let traceresponses: string[];
  const N = 200;
  const callerTrace = (i: number) => `f${i.toString(16).padStart(31, '0')}`;

  beforeAll(async () => {
    t = await createTestApp({ LOG_LEVEL: 'debug' }, { controllers: [LogProbeController] });
    const server = t.app.getHttpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    // Even requests join a caller's trace (W3C traceparent, or sentry-trace every fourth); odd ones start their own.
    const responses = await Promise.all(
      Array.from({ length: N }, (_, i) => {
        const headers: Record<string, string> = { 'x-request-id': `each-${i}` };
        if (i % 4 === 0) headers.traceparent = `00-${callerTrace(i)}-${'1'.repeat(16)}-01`;
        else if (i % 2 === 0) headers['sentry-trace'] = `${callerTrace(i)}-${'2'.repeat(16)}-0`;
        return fetch(`http://127.0.0.1:${port}/log-probe/each/${i}`, { headers });
      }),
    );
    for (const res of responses) expect(res.status).toBe(200);
    traceresponses = responses.map((res) => res.headers.get('traceresponse') ?? '');
    await t.stop();
    lines = parse(readLines(join(t.config.logDir, 'terra_constellata.log')));
  }, 60_000);

  afterAll(() => t.close());

  it.each([
    ["Nest's Logger", (i: number) => `each nest ${i}`],
    ["nestjs-pino's PinoLogger", (i: number) => `each pino ${i}`],
    ['the injected AppLogger', (i: number) => `each app ${i}`],
    ['an AppLogger helper', (i: number) => `each business ${i}`],
    ["Nest's Logger after the user is known", (i: number) => `each nest-after ${i}`],
  ])('gives every line written through %s its own request id and no other', (_name, message) => {
    for (let i = 0; i < N; i++) {
      const mine = lines.filter((line) => line.msg === message(i));
      expect(mine).toHaveLength(1);
      expect(mine[0].request_id).toBe(`each-${i}`);
    }
  });

  it("gives every line of a request its trace: the caller's, or its own, as traceresponse says", () => {
    for (let i = 0; i < N; i++) {
      const [version, traceId, spanId, flags] = traceresponses[i].split('-');
      expect({ version, flags }).toEqual({ version: '00', flags: '00' });
      if (i % 2 === 0) expect(traceId).toBe(callerTrace(i));
      else expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      const mine = lines.filter((line) => line.request_id === `each-${i}`);
      // Nest's Logger twice, PinoLogger, AppLogger, the helper, the SQL line and the request line.
      expect(mine).toHaveLength(7);
      for (const line of mine)
        expect({ trace_id: line.trace_id, span_id: line.span_id }).toEqual({
          trace_id: traceId,
          span_id: spanId,
        });
    }
    expect(new Set(traceresponses.map((header) => header.split('-')[1])).size).toBe(N);
  });

  it('writes the host on every line, in requests and outside them', () => {
    for (const line of lines) expect(line.host).toBe(hostname());
  });

  it("gives TypeORM's query lines the id of the request that ran the query", () => {
    for (let i = 0; i < N; i++) {
      const mine = lines.filter((line) => line.sql === `SELECT ${i} AS each_probe`);
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ msg: 'SQL query', level: 'DEBUG', request_id: `each-${i}` });
    }
  });

  it('carries the user id once the handler set it, on its lines and the request line', () => {
    for (let i = 0; i < N; i++) {
      const after = lines.find((line) => line.msg === `each nest-after ${i}`)!;
      const requestLine = lines.find(
        (line) => line.msg === 'API Request' && line.request_id === `each-${i}`,
      )!;
      const before = lines.find((line) => line.msg === `each nest ${i}`)!;
      expect(before.user_id).toBeUndefined();
      if (i % 2 === 0) {
        expect(after.user_id).toBe(`user-${i}`);
        expect(requestLine.user_id).toBe(`user-${i}`);
      } else {
        expect(after.user_id).toBeUndefined();
        expect(requestLine.user_id).toBeUndefined();
      }
    }
  });

  it('writes lines outside any request without a request id', () => {
    const outside = lines.filter(
      (line) => line.msg !== 'API Request' && !String(line.msg).startsWith('each'),
    );
    const startup = outside.filter((line) => line.sql === undefined);
    expect(startup.length).toBeGreaterThan(3);
    for (const line of startup) expect([line.request_id, line.trace_id]).toEqual([undefined, undefined]);
  });
});

describe('log levels', () => {
  async function linesAt(level: string): Promise<string[]> {
    const dir = mkdtempSync(join(tmpdir(), 'tc-levels-'));
    const root = createRootLogger(parseConfig({ LOG_DIR: dir, LOG_CONSOLE: 'off', LOG_LEVEL: level }));
    root.logger.debug('a debug line');
    root.logger.metrics('a metrics line');
    root.logger.info('an info line');
    root.logger.business('a business line');
    root.logger.warn('a warn line');
    await root.close();
    return parse(readLines(join(dir, 'terra_constellata.log'))).map((line) => `${line.level} ${line.msg}`);
  }

  it('filters the custom levels by LOG_LEVEL like the built-in ones', async () => {
    expect(await linesAt('info')).toEqual([
      'INFO an info line',
      'BUSINESS a business line',
      'WARN a warn line',
    ]);
    expect(await linesAt('business')).toEqual(['BUSINESS a business line', 'WARN a warn line']);
    expect(await linesAt('metrics')).toEqual([
      'METRICS a metrics line',
      'INFO an info line',
      'BUSINESS a business line',
      'WARN a warn line',
    ]);
  });
});

describe('RotatingFileStream', () => {
  const line = (i: number) => `${JSON.stringify({ i, pad: 'x'.repeat(80) })}\n`;

  it('rotates at the size limit, keeps maxFiles rotated files, and loses no line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-rotate-'));
    const path = join(dir, 'terra_constellata.log');
    const stream = new RotatingFileStream({ path, maxBytes: 1000, maxFiles: 50 });
    for (let i = 0; i < 300; i++) stream.write(line(i));
    await stream.end();
    const files = readdirSync(dir);
    expect(files.length).toBeGreaterThan(20);
    const seen = files.flatMap((name) =>
      readLines(join(dir, name)).map((l) => (JSON.parse(l) as { i: number }).i),
    );
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    for (const name of files) expect(readFileSync(join(dir, name)).length).toBeLessThanOrEqual(1000);
  });

  it('deletes the oldest rotated files beyond maxFiles', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-rotate-'));
    const path = join(dir, 'errors.log');
    const stream = new RotatingFileStream({ path, maxBytes: 500, maxFiles: 3 });
    for (let i = 0; i < 100; i++) stream.write(line(i));
    await stream.end();
    const rotated = readdirSync(dir).filter((name) => name !== 'errors.log');
    expect(rotated).toHaveLength(3);
    // The newest survive: the highest line numbers are all still on disk.
    const kept = readdirSync(dir).flatMap((name) =>
      readLines(join(dir, name)).map((l) => (JSON.parse(l) as { i: number }).i),
    );
    expect(Math.max(...kept)).toBe(99);
    expect(Math.min(...kept)).toBeGreaterThan(0);
  });

  it('rotates when the UTC day changes, naming the file after the day it holds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-rotate-'));
    const path = join(dir, 'terra_constellata.log');
    let now = Date.parse('2026-11-27T23:59:59.000Z');
    const stream = new RotatingFileStream({ path, maxBytes: 1_000_000, maxFiles: 5, now: () => now });
    stream.write(line(1));
    stream.write(line(2));
    now = Date.parse('2026-11-28T00:00:01.000Z');
    stream.write(line(3));
    await stream.end();
    expect(readdirSync(dir).sort()).toEqual(['terra_constellata.log', 'terra_constellata.log.2026-11-27.1']);
    expect(readLines(join(dir, 'terra_constellata.log.2026-11-27.1'))).toHaveLength(2);
    expect(readLines(path)).toHaveLength(1);
  });
});

describe('the built service and its log directory', () => {
  it('stops with one line when LOG_DIR cannot be created', async () => {
    const child = spawn(process.execPath, [BUILT_MAIN], {
      env: { PATH: process.env.PATH, PORT: '0', LOG_DIR: '/proc/terra-logs' },
      cwd: mkdtempSync(join(tmpdir(), 'tc-main-')),
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr.trimEnd().split('\n')).toEqual([
      'Start failed: Cannot write logs to LOG_DIR="/proc/terra-logs" (ENOENT); make it writable, or set LOG_DIR= (empty) for console only',
    ]);
  });

  it('logs to the console only when LOG_DIR is empty', async () => {
    const app = await startBuiltApp({ LOG_DIR: '' });
    await app.stop();
    expect(readdirSync(app.cwd)).toEqual(['data']);
    expect(app.output()).toContain('"msg":"terra_constellata listening on');
  });

  it('has the last request lines in the files after SIGTERM', async () => {
    const app = await startBuiltApp({ ENVIRONMENT: 'production' });
    const sent: string[] = [];
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`${app.url}/?i=${i}`, { headers: { 'x-request-id': `last-${i}` } });
      sent.push(res.headers.get('x-request-id')!);
    }
    await app.stop();
    const written = parse(readLines(join(app.cwd, 'logs', 'terra_constellata.log')))
      .filter((line) => line.msg === 'API Request')
      .map((line) => line.request_id);
    expect(written).toEqual(sent);
  });
});
