import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertNoDuplicateKeys } from './log-lines';

export const BUILT_MAIN = join(__dirname, '..', '..', 'dist', 'apps', 'api', 'src', 'main.js');

export interface BuiltApp {
  child: ChildProcess;
  url: string;
  cwd: string;
  output(): string;
  /** SIGTERM, then the exit code and signal. */
  stop(): Promise<[number | null, NodeJS.Signals | null]>;
}

/**
 * Starts the built service (or a fixture script that boots it) as its own process on a free port, with only
 * the environment given, and resolves once it listens. Killed after 60 s whatever happens.
 */
export async function startBuiltApp(env: Record<string, string>, script = BUILT_MAIN): Promise<BuiltApp> {
  if (!existsSync(BUILT_MAIN))
    throw new Error(`${BUILT_MAIN} is missing: run "npm run build" first (npm test does)`);
  const cwd = mkdtempSync(join(tmpdir(), 'tc-built-'));
  const child = spawn(process.execPath, [script], {
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_CONSOLE: 'json',
      SHUTDOWN_GRACE_MS: '0',
      RATE_LIMIT_WRITES: '0',
      RATE_LIMIT_READS: '0',
      ...env,
    },
    cwd,
  });
  let out = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (out += chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolve([code, signal]);
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not listening within 15 s:\n${out}`)), 15_000);
    const check = () => {
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', check);
    void exited.then(([code]) => reject(new Error(`exited with ${code} before listening:\n${out}`)));
  });
  return {
    child,
    url,
    cwd,
    output: () => out,
    stop: async () => {
      child.kill('SIGTERM');
      const result = await exited;
      // No line this process wrote, to its console or its files, has a key twice.
      assertNoDuplicateKeys(join(cwd, 'logs'), out);
      return result;
    },
  };
}
