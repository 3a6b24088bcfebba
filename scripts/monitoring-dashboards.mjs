#!/usr/bin/env node
// Generates the importable copies of the provisioned dashboards, which stay the one source of truth:
//   monitoring/grafana/dashboards/<name>.json -> monitoring/grafana/import/<name>.json
// The provisioned ones name their data sources by the fixed uids of
// monitoring/grafana/provisioning/datasources/datasources.yml ("prometheus", "loki"): file provisioning does not
// fill in `__inputs`. The copies name them `${DS_PROMETHEUS}` / `${DS_LOKI}` and declare those in `__inputs`,
// so that Grafana's Dashboards > Import asks which data source to use.
// npm run monitoring:dashboards writes them; `-- --check` only compares and exits 1 when one is stale.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import prettier from 'prettier';

const root = join(import.meta.dirname, '..');
const source = join(root, 'monitoring', 'grafana', 'dashboards');
const out = join(root, 'monitoring', 'grafana', 'import');
const GRAFANA_VERSION = '12.3.0';
const SOURCES = {
  prometheus: {
    input: 'DS_PROMETHEUS',
    label: 'Prometheus',
    description: 'The Prometheus that scrapes the backend',
    pluginName: 'Prometheus',
  },
  loki: {
    input: 'DS_LOKI',
    label: 'Loki',
    description: "The Loki that receives the backend's logs",
    pluginName: 'Loki',
  },
};

/** The importable copy of one provisioned dashboard (parsed JSON in, JSON text out, formatted as the repo is). */
async function importable(dashboard, path) {
  const used = new Set();
  const panels = new Set();
  const walk = (node) => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== 'object') return node;
    const copy = {};
    for (const [key, value] of Object.entries(node)) copy[key] = walk(value);
    if (copy.gridPos && typeof copy.type === 'string') panels.add(copy.type);
    const kind = SOURCES[copy.uid];
    if (kind && copy.type === copy.uid && Object.keys(copy).length === 2) {
      used.add(copy.uid);
      copy.uid = `\${${kind.input}}`;
    }
    return copy;
  };
  const body = walk(dashboard);
  const inputs = [...used].sort().map((uid) => ({
    name: SOURCES[uid].input,
    label: SOURCES[uid].label,
    description: SOURCES[uid].description,
    type: 'datasource',
    pluginId: uid,
    pluginName: SOURCES[uid].pluginName,
  }));
  const requires = [
    { type: 'grafana', id: 'grafana', name: 'Grafana', version: GRAFANA_VERSION },
    ...[...used].sort().map((uid) => ({
      type: 'datasource',
      id: uid,
      name: SOURCES[uid].pluginName,
      version: '1.0.0',
    })),
    ...[...panels]
      .filter((type) => type !== 'row')
      .sort()
      .map((type) => ({ type: 'panel', id: type, name: type, version: '' })),
  ];
  const text = JSON.stringify({ __inputs: inputs, __requires: requires, ...body }, null, 2);
  return prettier.format(text, { ...(await prettier.resolveConfig(path)), filepath: path });
}

async function main() {
  const check = process.argv.includes('--check');
  mkdirSync(out, { recursive: true });
  const names = readdirSync(source)
    .filter((name) => name.endsWith('.json'))
    .sort();
  let stale = 0;
  for (const name of names) {
    const text = await importable(JSON.parse(readFileSync(join(source, name), 'utf8')), join(out, name));
    let current = '';
    try {
      current = readFileSync(join(out, name), 'utf8');
    } catch {
      // missing: stale
    }
    if (current === text) continue;
    stale++;
    if (check)
      console.error(
        `monitoring-dashboards: monitoring/grafana/import/${name} differs from its source; run npm run monitoring:dashboards`,
      );
    else {
      writeFileSync(join(out, name), text);
      console.log(`monitoring-dashboards: wrote monitoring/grafana/import/${name}`);
    }
  }
  // A copy whose source is gone is stale too.
  for (const name of readdirSync(out).filter((n) => n.endsWith('.json') && !names.includes(n))) {
    stale++;
    console.error(`monitoring-dashboards: monitoring/grafana/import/${name} has no source; remove it`);
  }
  if (check && stale > 0) process.exit(1);
  if (!check && stale === 0) console.log('monitoring-dashboards: up to date');
}

await main();
