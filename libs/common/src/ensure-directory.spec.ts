import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDirectory } from './ensure-directory';

describe('ensureDirectory', () => {
  const base = mkdtempSync(join(tmpdir(), 'tc-dir-'));

  it('creates missing levels and accepts an existing directory', () => {
    const deep = join(base, 'a', 'b', 'c');
    expect(ensureDirectory(deep)).toBe(deep);
    expect(statSync(deep).isDirectory()).toBe(true);
    expect(ensureDirectory(deep)).toBe(deep);
  });

  it('fails on a file in the way', () => {
    const file = join(base, 'file');
    writeFileSync(file, 'x');
    expect(() => ensureDirectory(join(file, 'sub'))).toThrow(/ENOTDIR/);
  });

  it('fails at once under /proc, where recursive mkdirSync never returns', () => {
    expect(() => ensureDirectory('/proc/terra-logs/x')).toThrow(/ENOENT/);
  });
});
