#!/usr/bin/env node
// Creates the compose stacks' secrets, once: npm run monitoring:secrets [-- --dir <directory>]
//   monitoring_password           the password of user "terra" for Prometheus and Alertmanager (random, 32 characters)
//   web.yml                       their web config (basic auth; bcrypt hash of that password), for --web.config.file;
//                                 with tls.crt and tls.key beside it, also tls_server_config: they serve HTTPS only
//   backend/feedback_read_token   a read token for GET /api/feedback/recent, which the compose backend reads into
//                                 FEEDBACK_READ_TOKENS (docker-compose.yml)
// Files that exist are kept, so running it again changes nothing; delete them to rotate. web.yml is rewritten
// when the password or the presence of tls.crt/tls.key changed.
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
mkdirSync(join(dir, 'backend'), { recursive: true });
// Readable by other users: Prometheus, Alertmanager, Grafana and the backend read them as their own users in
// their containers.
const created = (file, content) => {
  if (existsSync(file)) return;
  writeFileSync(file, content, { mode: 0o644 });
  console.log(`monitoring-secrets: wrote ${file}`);
};
const passwordFile = join(dir, 'monitoring_password');
const webFile = join(dir, 'web.yml');
created(passwordFile, randomBytes(24).toString('base64url'));
created(join(dir, 'backend', 'feedback_read_token'), randomBytes(24).toString('base64url'));

const password = readFileSync(passwordFile, 'utf8').trim();
const tls = existsSync(join(dir, 'tls.crt')) && existsSync(join(dir, 'tls.key'));
const current = existsSync(webFile) ? readFileSync(webFile, 'utf8') : '';
if (
  !current ||
  !bcrypt.compareSync(password, hashIn(current)) ||
  current.includes('tls_server_config:') !== tls
) {
  const hash = bcrypt.hashSync(password, 12);
  writeFileSync(
    webFile,
    [
      '# Prometheus and Alertmanager web config (written by npm run monitoring:secrets): basic auth for every',
      '# endpoint, the API and /-/healthy included. The password is in monitoring_password next to this file.',
      ...(tls
        ? [
            '# tls.crt and tls.key sit beside this file: HTTPS only (docs/deployment.md, "HTTPS"). Paths are',
            '# relative to this file.',
            'tls_server_config:',
            '  cert_file: tls.crt',
            '  key_file: tls.key',
            '  min_version: TLS12',
          ]
        : []),
      'basic_auth_users:',
      `  terra: '${hash}'`,
      '',
    ].join('\n'),
  );
  console.log(`monitoring-secrets: wrote ${webFile}${tls ? ' (HTTPS with tls.crt and tls.key)' : ''}`);
}
console.log(
  `monitoring-secrets: ${dir} holds the user "terra" and its password for Prometheus and Alertmanager, and the backend's read token`,
);

function hashIn(text) {
  return text.match(/terra: '([^']+)'/)?.[1] ?? '';
}
