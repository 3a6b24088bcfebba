import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { availableParallelism, freemem, totalmem } from 'node:os';
import { join } from 'node:path';
import { AppConfig } from '@app/config';

/** Where a figure's limit comes from: the container's cgroup (v2) or, without one, the host. */
export type ResourceSource = 'cgroup' | 'host';

/** How often the CPU counter is sampled, and the window the CPU figure covers. */
export const CPU_SAMPLE_MS = 5_000;
export const CPU_WINDOW_MS = 60_000;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The process's own cgroup v2 directory (the `0::` line of /proc/self/cgroup), when it has a cpu.max. */
function cgroupDirectory(root: string): string | undefined {
  const own = readText('/proc/self/cgroup')
    ?.split('\n')
    .find((line) => line.startsWith('0::'))
    ?.slice(3);
  // Inside a container the namespace makes its own cgroup the root; on a host, the service's slice.
  for (const dir of [own ? join(root, own) : undefined, root]) {
    if (dir && readText(join(dir, 'cpu.max')) !== undefined) return dir;
  }
  return undefined;
}

interface Sample {
  at: number;
  cpuMicros: number;
}

/**
 * The service's CPU and memory against what it may use: its cgroup v2 limits (cpu.max, memory.max, usage from
 * cpu.stat and memory.current) inside a container, the host's cores and memory otherwise. CPU is sampled on a
 * timer of its own and reported over the last minute, so every reader (each of two Prometheus servers, /health)
 * sees the same figure whenever it asks.
 */
@Injectable()
export class ResourceUsage implements OnModuleDestroy {
  readonly cpuSource: ResourceSource;
  readonly memorySource: ResourceSource;
  /** Cores the service may use: the cgroup's quota, or the host's cores. */
  readonly cpuLimitCores: number;
  private readonly memoryLimit: number | undefined;
  private readonly cgroup: string | undefined;
  private readonly samples: Sample[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(config: AppConfig) {
    this.cgroup = cgroupDirectory(config.cgroupRoot);
    const quota = this.cgroup ? parseCpuMax(readText(join(this.cgroup, 'cpu.max'))) : undefined;
    this.cpuSource = quota === undefined ? 'host' : 'cgroup';
    this.cpuLimitCores = quota ?? availableParallelism();
    const memoryMax = this.cgroup ? readText(join(this.cgroup, 'memory.max')) : undefined;
    this.memoryLimit = memoryMax && /^\d+$/.test(memoryMax) ? Number(memoryMax) : undefined;
    this.memorySource = this.memoryLimit === undefined ? 'host' : 'cgroup';
    this.samples.push(this.sample());
    this.timer = setInterval(() => this.record(), CPU_SAMPLE_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** CPU used over the last minute (less since start), in percent of the cores the service may use. */
  cpuPercent(): number {
    const now = this.sample();
    const first = this.samples[0];
    const elapsedMicros = (now.at - first.at) * 1000;
    if (elapsedMicros <= 0) return 0;
    const percent = ((now.cpuMicros - first.cpuMicros) / elapsedMicros / this.cpuLimitCores) * 100;
    return Math.round(Math.max(0, percent) * 100) / 100;
  }

  /** Memory in use, in percent of the cgroup's memory.max, or of the host's memory. */
  memoryPercent(): number {
    if (this.memoryLimit !== undefined && this.cgroup) {
      const current = Number(readText(join(this.cgroup, 'memory.current')) ?? NaN);
      if (Number.isFinite(current)) return round1((current / this.memoryLimit) * 100);
    }
    const total = totalmem();
    return round1(((total - freemem()) / total) * 100);
  }

  /** Bytes the service may use: the cgroup's memory.max, or the host's memory. */
  memoryLimitBytes(): number {
    return this.memoryLimit ?? totalmem();
  }

  private record(): void {
    this.samples.push(this.sample());
    // Keep one sample at or beyond the window's start, so the figure always spans a full window once it can.
    while (
      this.samples.length > 2 &&
      this.samples[1].at <= this.samples[this.samples.length - 1].at - CPU_WINDOW_MS
    )
      this.samples.shift();
  }

  private sample(): Sample {
    const at = performance.now();
    // In a cgroup the container's usage (the service and anything it spawned); otherwise this process's.
    const stat =
      this.cpuSource === 'cgroup' && this.cgroup ? readText(join(this.cgroup, 'cpu.stat')) : undefined;
    const usage = stat?.match(/^usage_usec (\d+)$/m);
    if (usage) return { at, cpuMicros: Number(usage[1]) };
    const cpu = process.cpuUsage();
    return { at, cpuMicros: cpu.user + cpu.system };
  }
}

/** cpu.max is "<quota> <period>" in microseconds, or "max <period>" for no limit. */
export function parseCpuMax(text: string | undefined): number | undefined {
  const match = text?.match(/^(\d+) (\d+)$/);
  if (!match) return undefined;
  const cores = Number(match[1]) / Number(match[2]);
  return cores > 0 ? cores : undefined;
}

const round1 = (value: number) => Math.round(value * 10) / 10;
