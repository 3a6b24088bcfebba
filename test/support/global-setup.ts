import { Client } from 'pg';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';

// Probes PostgreSQL once per run; workers inherit the verdict through the environment.
export default async function globalSetup(): Promise<void> {
  // Names this run's contract records (test/support/contract.ts); workers inherit it.
  process.env.TC_CONTRACT_RUN = `${process.pid}-${Date.now()}`;
  const url = process.env.TEST_DATABASE_URL ?? DEFAULT_URL;
  const shown = url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    process.env.TEST_PG_AVAILABLE = '1';
  } catch (error) {
    const reason = (error as Error).message || String(error);
    if (process.env.CI) {
      throw new Error(`PostgreSQL is required in CI, but ${shown} did not answer: ${reason}`);
    }
    process.env.TEST_PG_AVAILABLE = '0';
    process.stderr.write(
      `\n[tests] PostgreSQL tier NOT RUN: ${shown} did not answer (${reason}).\n` +
        `        Start it (Debian: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)\n` +
        `        or point TEST_DATABASE_URL at a server where this user may CREATE DATABASE.\n\n`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
