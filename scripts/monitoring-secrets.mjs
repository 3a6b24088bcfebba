#!/usr/bin/env node
// Creates the monitoring stack's secrets, once: npm run monitoring:secrets [-- --dir <directory>]
//   monitoring_password  the password of user "terra" for Prometheus and Alertmanager (random, 32 characters)
//   web.yml              their web config (basic auth; bcrypt hash of that password), for --web.config.file
// Files that exist are kept, so running it again changes nothing; delete them to rotate.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';

const args = process.argv.slice(2);
const at = args.indexOf('--dir');
const dir = at >= 0 ? args[at + 1] : join(import.meta.dirname, '..', 'monitoring', 'secrets');
if (!dir) {
  console.error('usage: npm run monitoring:secrets [-- --dir <directory>]');
  process.exit(64);
}
mkdirSync(dir, { recursive: true });
const passwordFile = join(dir, 'monitoring_password');
const webFile = join(dir, 'web.yml');
if (!existsSync(passwordFile)) {
  // Readable by other users: Prometheus, Alertmanager and Grafana read it as their own users in their containers.
  writeFileSync(passwordFile, randomBytes(24).toString('base64url'), { mode: 0o644 });
  console.log(`monitoring-secrets: wrote ${passwordFile}`);
}
const password = readFileSync(passwordFile, 'utf8').trim();
if (!existsSync(webFile) || !bcrypt.compareSync(password, hashIn(readFileSync(webFile, 'utf8')))) {
  const hash = bcrypt.hashSync(password, 12);
  writeFileSync(
    webFile,
    [
      '# Prometheus and Alertmanager web config (written by npm run monitoring:secrets): basic auth for every',
      '# endpoint, the API and /-/healthy included. The password is in monitoring_password next to this file.',
      'basic_auth_users:',
      `  terra: '${hash}'`,
      '',
    ].join('\n'),
  );
  console.log(`monitoring-secrets: wrote ${webFile}`);
}
console.log(
  `monitoring-secrets: ${dir} holds the user "terra" and its password for Prometheus and Alertmanager`,
);

function hashIn(text) {
  return text.match(/terra: '([^']+)'/)?.[1] ?? '';
}
