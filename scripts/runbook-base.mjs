#!/usr/bin/env node
// Points every runbook link (alert annotations, their promtool tests, dashboard links and their importable
// copies) at a new base URL:
//   npm run monitoring:runbook-base -- https://wiki.example.com/terra/runbooks
// The current base is kept in monitoring/runbook-base-url, the one place it is written down.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const baseFile = join(root, 'monitoring', 'runbook-base-url');
const next = process.argv[2]?.replace(/\/+$/, '');
if (!next || !/^https?:\/\/[^\s"'{}]+$/.test(next)) {
  console.error(
    'usage: npm run monitoring:runbook-base -- <http(s) URL of the directory holding <Alert>.md>',
  );
  process.exit(64);
}
const current = readFileSync(baseFile, 'utf8').trim();
const dirs = [
  'monitoring/rules',
  'monitoring/rules/tests',
  'monitoring/grafana/dashboards',
  'monitoring/grafana/import',
  'deploy/k8s/base/generated',
];
let changed = 0;
for (const dir of dirs.filter((d) => existsSync(join(root, d)))) {
  for (const name of readdirSync(join(root, dir)).filter((n) => /\.(ya?ml|json)$/.test(n))) {
    const path = join(root, dir, name);
    const text = readFileSync(path, 'utf8');
    const updated = text.split(current).join(next);
    if (updated !== text) {
      writeFileSync(path, updated);
      changed++;
      console.log(`runbook-base: ${dir}/${name}`);
    }
  }
}
writeFileSync(baseFile, `${next}\n`);
console.log(`runbook-base: ${changed} files now link to ${next}/<Alert>.md`);
