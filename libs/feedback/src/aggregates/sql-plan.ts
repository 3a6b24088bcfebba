import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';

export type Row = Record<string, unknown>;

/** One SQL statement and its parameters. */
export interface Statement {
  sql: string;
  params: unknown[];
}

/**
 * The statements of one transaction, each built from what the ones before returned. A plan is written once and
 * run by either engine: awaited on PostgreSQL, synchronously on SQLite (see SqlPlanRunner).
 */
export type Plan<T> = Generator<Statement, T, Row[]>;

/** Collects parameters and writes the engine's placeholder for each (`$n` on PostgreSQL, `?` on SQLite). */
export class Params {
  readonly values: unknown[] = [];

  constructor(private readonly postgres: boolean) {}

  add(value: unknown): string {
    this.values.push(value);
    return this.postgres ? `$${this.values.length}` : '?';
  }

  /** `(p, p, ...)` for one row of values. */
  tuple(values: unknown[]): string {
    return `(${values.map((v) => this.add(v)).join(', ')})`;
  }
}

interface SqliteStatement {
  reader: boolean;
  all(...params: unknown[]): Row[];
  run(...params: unknown[]): unknown;
}

interface SqliteDatabase {
  inTransaction: boolean;
  prepare(sql: string): SqliteStatement;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): { immediate(...args: A): R };
}

// PostgreSQL: a deadlock or serialization failure is resolved by running the transaction again.
const RETRIED_SQLSTATES = new Set(['40P01', '40001']);
const POSTGRES_ATTEMPTS = 3;
const SQLITE_STATEMENTS_KEPT = 512;

/**
 * Runs plans as transactions. On PostgreSQL through TypeORM's pooled connections. On SQLite on the one
 * better-sqlite3 connection, synchronously between BEGIN IMMEDIATE and COMMIT: nothing else the process does can
 * slip a statement into the transaction or see half of it, and a lock another process holds is waited for by
 * retrying on timers (the connection's busy_timeout is short), so the event loop never waits on it.
 */
export class SqlPlanRunner {
  readonly postgres: boolean;
  private readonly statements = new Map<string, SqliteStatement>();

  constructor(
    private readonly dataSource: DataSource,
    /** The longest wait for SQLite's write lock (DATABASE_ACQUIRE_TIMEOUT_MS) before the busy error is thrown. */
    private readonly acquireTimeoutMs: number,
  ) {
    this.postgres = dataSource.options.type === 'postgres';
  }

  params(): Params {
    return new Params(this.postgres);
  }

  /**
   * Runs the plan `make` builds in one transaction and returns what it returns. `single`: the plan is one
   * statement on PostgreSQL, atomic by itself, so it runs without BEGIN and COMMIT (two round trips fewer).
   */
  async transaction<T>(make: () => Plan<T>, options: { single?: boolean } = {}): Promise<T> {
    return this.postgres ? this.onPostgres(make, options.single === true) : this.onSqlite(make);
  }

  private async onPostgres<T>(make: () => Plan<T>, single: boolean): Promise<T> {
    const drive = async (query: (sql: string, params: unknown[]) => Promise<unknown>) => {
      const plan = make();
      let step = plan.next();
      for (let statements = 0; !step.done; statements++) {
        if (single && statements > 0)
          throw new Error('a plan run as a single statement yielded a second one');
        const rows = (await query(step.value.sql, step.value.params)) as Row[];
        step = plan.next(Array.isArray(rows) ? rows : []);
      }
      return step.value;
    };
    for (let attempt = 1; ; attempt++) {
      try {
        if (single) return await drive((sql, params) => this.dataSource.query(sql, params));
        return await this.dataSource.transaction((manager) =>
          drive((sql, params) => manager.query(sql, params)),
        );
      } catch (error) {
        const code = (error as { code?: unknown; driverError?: { code?: unknown } }).driverError?.code;
        if (attempt >= POSTGRES_ATTEMPTS || typeof code !== 'string' || !RETRIED_SQLSTATES.has(code))
          throw error;
      }
    }
  }

  private async onSqlite<T>(make: () => Plan<T>): Promise<T> {
    const db = (this.dataSource.driver as unknown as { databaseConnection: SqliteDatabase })
      .databaseConnection;
    const run = db.transaction(() => {
      const plan = make();
      let step = plan.next();
      while (!step.done) step = plan.next(this.execute(db, step.value));
      return step.value;
    });
    const deadline = Date.now() + this.acquireTimeoutMs;
    for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
      // A TypeORM transaction of this connection is open between two of its awaits: let it finish first, or
      // this plan would become part of it.
      if (!db.inTransaction) {
        try {
          return run.immediate();
        } catch (error) {
          if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw error;
        }
      } else if (Date.now() >= deadline) {
        throw Object.assign(new Error('database is locked by a transaction of this process'), {
          code: 'SQLITE_BUSY',
        });
      }
      await sleep(pause);
    }
  }

  private execute(db: SqliteDatabase, statement: Statement): Row[] {
    let prepared = this.statements.get(statement.sql);
    if (!prepared) {
      if (this.statements.size >= SQLITE_STATEMENTS_KEPT) this.statements.clear();
      prepared = db.prepare(statement.sql);
      this.statements.set(statement.sql, prepared);
    }
    if (prepared.reader) return prepared.all(...statement.params);
    prepared.run(...statement.params);
    return [];
  }
}
