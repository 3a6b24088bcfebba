import { AsyncLocalStorage } from 'node:async_hooks';
import { __resetOutOfContextForTests, PinoLogger } from 'nestjs-pino/PinoLogger';
import { storage, type Store } from 'nestjs-pino/storage';
import type { Params } from 'nestjs-pino';

/** A stand-in pino logger that keeps what was written to it. */
function recorder(name: string, lines: string[]) {
  return { info: (msg: string) => lines.push(`${name}: ${msg}`) } as unknown as Store['logger'];
}

// The logging lib uses two parts of nestjs-pino outside its documented API: the AsyncLocalStorage its PinoLogger
// reads the request's logger from (request-context.ts enters it once per request), and the reset of its
// process-wide out-of-request logger (logging-core.module.ts, so a second app in one process logs to its own
// files). These fail when an upgrade moves or changes either, before any request logs to the wrong place.
describe("nestjs-pino's internals the logging lib relies on", () => {
  it('PinoLogger writes through the logger of the store entered in nestjs-pino/storage', () => {
    expect(storage).toBeInstanceOf(AsyncLocalStorage);
    const lines: string[] = [];
    __resetOutOfContextForTests();
    const logger = new PinoLogger({ pinoHttp: { logger: recorder('outside', lines) } } as unknown as Params);
    storage.run({ logger: recorder('request', lines) } as Store, () => logger.info('inside'));
    logger.info('after');
    expect(lines).toEqual(['request: inside', 'outside: after']);
  });

  it('__resetOutOfContextForTests makes the next PinoLogger take its own out-of-request logger', () => {
    const lines: string[] = [];
    __resetOutOfContextForTests();
    const first = new PinoLogger({ pinoHttp: { logger: recorder('first', lines) } } as unknown as Params);
    first.info('a');
    // Without a reset, a second app's PinoLogger writes into the first one's logger: it is process-wide.
    new PinoLogger({ pinoHttp: { logger: recorder('second', lines) } } as unknown as Params).info('b');
    __resetOutOfContextForTests();
    new PinoLogger({ pinoHttp: { logger: recorder('second', lines) } } as unknown as Params).info('c');
    expect(lines).toEqual(['first: a', 'first: b', 'second: c']);
  });
});
