import { execFileSync } from 'node:child_process';

/**
 * Path of a binary the test needs. Missing in CI is a failure; elsewhere the caller skips and this prints why.
 */
export function findBinary(name: string, install: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    if (process.env.CI) throw new Error(`${name} is required in CI but is not installed (${install})`);
    process.stderr.write(
      `[tests] ${name} NOT FOUND: the tests that need it did not run. Install: ${install}\n`,
    );
    return null;
  }
}

/** `describe` when the binary was found; otherwise `describe.skip`, and findBinary has printed why. */
export function describeIfBinary(path: string | null): jest.Describe {
  return path ? describe : describe.skip;
}

/** `it` when every binary was found; otherwise `it.skip`, and findBinary has printed why. */
export function itIfBinary(...paths: Array<string | null>): jest.It {
  return paths.every(Boolean) ? it : it.skip;
}
