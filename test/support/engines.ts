import { createTestDatabase, describePostgres } from './postgres';

export interface Engine {
  name: string;
  describe: jest.Describe;
  /** Extra environment for createTestApp, and how to clean up after it. */
  setup(): Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>;
}

/** The embedded default and the real PostgreSQL (skipped, with the reason printed, when none answers). */
export const ENGINES: Engine[] = [
  { name: 'SQLite', describe, setup: async () => ({ env: {}, cleanup: async () => undefined }) },
  {
    name: 'PostgreSQL',
    describe: describePostgres,
    setup: async () => {
      const db = await createTestDatabase();
      return { env: { DATABASE_URL: db.url }, cleanup: () => db.drop() };
    },
  },
];
