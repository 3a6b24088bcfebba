import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CONTRACT_DIR } from './contract';

// Sums up the contract test: how many responses of the e2e suites were checked against the OpenAPI document,
// per operation and status, and how many broke it (each file's afterAll has already failed for those).
export default function globalTeardown(): void {
  if (!existsSync(CONTRACT_DIR)) return;
  const counts = new Map<string, number>();
  let checked = 0;
  let skipped = 0;
  let violations = 0;
  for (const file of readdirSync(CONTRACT_DIR)) {
    for (const line of readFileSync(join(CONTRACT_DIR, file), 'utf8').split('\n')) {
      if (!line) continue;
      const record = JSON.parse(line) as { key: string; status: number; violations: number };
      violations += record.violations;
      if (record.key === 'skipped') {
        skipped++;
        continue;
      }
      checked++;
      const key = `${record.key} ${record.status}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  rmSync(CONTRACT_DIR, { recursive: true, force: true });
  process.stdout.write(
    `\ncontract: ${checked} responses checked against the OpenAPI document (${counts.size} operation/status pairs), ` +
      `${skipped} skipped (test-only routes, Swagger UI, CORS preflight), ${violations} violations\n`,
  );
  if (violations > 0)
    throw new Error(`${violations} responses broke the OpenAPI contract (see the failing files)`);
}
