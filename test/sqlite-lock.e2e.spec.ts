import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createTestApp, type TestApp } from './support/app';

// Another process (a rebuild, an operator's sqlite3 shell) holds SQLite's write lock: a submission waits for it
// on timers, up to DATABASE_ACQUIRE_TIMEOUT_MS, then answers 503, and the event loop stays free meanwhile.
describe('SQLite write lock held by another process', () => {
  let t: TestApp;
  let url: string;
  let holder: ChildProcess | undefined;

  beforeAll(async () => {
    t = await createTestApp({ DATABASE_ACQUIRE_TIMEOUT_MS: '1500' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    holder?.kill('SIGKILL');
    await t.close();
  });

  const lock = async () => {
    const path = (t.config.database as { path: string }).path;
    holder = spawn(
      process.execPath,
      [
        '-e',
        `const db = new (require('better-sqlite3'))(${JSON.stringify(path)});
         db.exec('BEGIN IMMEDIATE');
         process.stdout.write('locked\\n');
         process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.exit(0); });`,
      ],
      { cwd: process.cwd(), stdio: ['pipe', 'pipe', 'inherit'] },
    );
    await once(holder.stdout!, 'data');
  };
  const unlock = async () => {
    holder!.stdin!.write('go\n');
    await once(holder!, 'exit');
  };
  const submit = () =>
    fetch(`${url}/api/feedback/submit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rating: 4 }),
    });

  it('answers the probes while a write waits, then 503 with Retry-After; writes succeed once the lock is gone', async () => {
    await lock();
    const order: string[] = [];
    const write = submit().then((res) => {
      order.push(`write ${res.status}`);
      return res;
    });
    // Probes sent after the write started are answered before it gives up: nothing holds the event loop.
    for (let i = 0; i < 5; i++) {
      const live = await fetch(`${url}/health/live`);
      order.push(`live ${live.status}`);
    }
    const res = await write;
    expect(order).toEqual(['live 200', 'live 200', 'live 200', 'live 200', 'live 200', 'write 503']);
    expect(res.headers.get('retry-after')).toBe('5');
    await unlock();
    expect((await submit()).status).toBe(201);
    const stats = (await (await fetch(`${url}/api/feedback/stats`)).json()) as { total: number };
    // The refused write counts nowhere.
    expect(stats.total).toBe(1);
  });
});
