import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionCap, fileDescriptorLimit } from './connections';

describe('the connection cap', () => {
  it('reads the soft open-files limit from a limits file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tc-limits-'));
    const file = join(dir, 'limits');
    writeFileSync(
      file,
      'Limit                     Soft Limit           Hard Limit           Units\n' +
        'Max processes             63704                63704                processes\n' +
        'Max open files            20000                40000                files\n',
    );
    expect(fileDescriptorLimit(file)).toBe(20_000);
    writeFileSync(file, 'Max open files            unlimited            unlimited            files\n');
    expect(fileDescriptorLimit(file)).toBeUndefined();
    expect(fileDescriptorLimit(join(dir, 'missing'))).toBeUndefined();
  });

  it('takes MAX_CONNECTIONS when set, else leaves the pool and a reserve below the limit, at most 10,000', () => {
    expect(connectionCap(500, 10, 1024)).toBe(500);
    expect(connectionCap(undefined, 10, 1024)).toBe(1024 - 10 - 128);
    expect(connectionCap(undefined, 10, 20_000)).toBe(10_000);
    expect(connectionCap(undefined, 10, undefined)).toBe(10_000);
    expect(connectionCap(undefined, 10, 100)).toBe(16);
  });
});
