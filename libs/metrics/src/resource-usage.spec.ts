import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig, parseConfig } from '@app/config';
import { parseCpuMax, ResourceUsage } from './resource-usage';

function cgroup(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tc-cgroup-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), `${text}\n`);
  return dir;
}

const configWith = (cgroupRoot: string) => parseConfig({ CGROUP_ROOT: cgroupRoot }) as AppConfig;

describe('ResourceUsage', () => {
  afterEach(() => jest.useRealTimers());

  it('reads cpu.max, memory.max and memory.current of a cgroup v2 and says so', () => {
    const root = cgroup({
      'cpu.max': '50000 100000',
      'cpu.stat': 'usage_usec 1000000\nuser_usec 800000\nsystem_usec 200000',
      'memory.max': String(1024 ** 3),
      'memory.current': String(256 * 1024 ** 2),
    });
    const usage = new ResourceUsage(configWith(root));
    expect(usage.cpuSource).toBe('cgroup');
    expect(usage.cpuLimitCores).toBe(0.5);
    expect(usage.memorySource).toBe('cgroup');
    expect(usage.memoryLimitBytes()).toBe(1024 ** 3);
    expect(usage.memoryPercent()).toBe(25);
    usage.onModuleDestroy();
  });

  it('reports the cgroup CPU over the last minute in percent of its quota, the same to every reader', () => {
    jest.useFakeTimers();
    const files = { 'cpu.max': '50000 100000', 'cpu.stat': 'usage_usec 1000000', 'memory.max': 'max' };
    const root = cgroup(files);
    const usage = new ResourceUsage(configWith(root));
    // 2.5 s of CPU in 10 s, against a quota of half a core: 50 %.
    jest.advanceTimersByTime(5_000);
    writeFileSync(join(root, 'cpu.stat'), 'usage_usec 3500000\n');
    jest.advanceTimersByTime(5_000);
    expect(usage.cpuPercent()).toBe(50);
    // Reading does not start a new window: a second reader right after sees the same figure.
    expect(usage.cpuPercent()).toBe(50);
    // Two idle minutes later the burst is out of the window.
    jest.advanceTimersByTime(120_000);
    expect(usage.cpuPercent()).toBe(0);
    writeFileSync(join(root, 'cpu.stat'), 'usage_usec 5000000\n');
    jest.advanceTimersByTime(5_000);
    // 1.5 s over the last minute, against half a core: 5 %.
    expect(usage.cpuPercent()).toBe(5);
    // No memory limit: memory figures are the host's.
    expect(usage.memorySource).toBe('host');
    usage.onModuleDestroy();
  });

  it('falls back to the host when there is no cgroup v2 with a CPU limit', () => {
    const usage = new ResourceUsage(configWith(join(tmpdir(), 'tc-no-such-cgroup')));
    expect(usage.cpuSource).toBe('host');
    expect(usage.cpuLimitCores).toBe(availableParallelism());
    expect(usage.memorySource).toBe('host');
    const percent = usage.memoryPercent();
    expect(percent).toBeGreaterThan(0);
    expect(percent).toBeLessThanOrEqual(100);
    usage.onModuleDestroy();
  });

  it('parses cpu.max', () => {
    expect(parseCpuMax('200000 100000')).toBe(2);
    expect(parseCpuMax('max 100000')).toBeUndefined();
    expect(parseCpuMax(undefined)).toBeUndefined();
    expect(parseCpuMax('0 100000')).toBeUndefined();
  });
});
