import { Injectable } from '@nestjs/common';
import { statfs } from 'node:fs/promises';
import type { StatsFs } from 'node:fs';
import { cpus, freemem, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { AppConfig } from '@app/config';

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

const round1 = (value: number) => Math.round(value * 10) / 10;

/** The machine-wide figures of the /health report's `system` block. */
@Injectable()
export class SystemStats {
  private lastCpu = cpuTimes();
  private lastCpuPercent = 0;
  private readonly paths: string[];

  constructor(config: AppConfig) {
    const paths = [config.database.type === 'sqlite' ? dirname(resolve(config.database.path)) : resolve('.')];
    if (config.logDir) paths.push(resolve(config.logDir));
    this.paths = [...new Set(paths)];
  }

  /** CPU busy across all cores since the previous call, in percent. */
  cpuPercent(): number {
    const now = cpuTimes();
    const total = now.total - this.lastCpu.total;
    // Two probes in the same tick of the kernel's counters: keep the last figure rather than report 0.
    if (total > 0) {
      this.lastCpuPercent = round1(((now.busy - this.lastCpu.busy) / total) * 100);
      this.lastCpu = now;
    }
    return this.lastCpuPercent;
  }

  /** Memory in use (total minus what is available), in percent. */
  memoryPercent(): number {
    const total = totalmem();
    return round1(((total - freemem()) / total) * 100);
  }

  /** The fullest of the filesystems holding the data and log directories, in percent, as df computes it. */
  async diskUsagePercent(): Promise<number> {
    const usages = await Promise.all(
      this.paths.map(async (path) => {
        const stats = await statfsNearest(path);
        const used = stats.blocks - stats.bfree;
        const usable = used + stats.bavail;
        return usable > 0 ? (used / usable) * 100 : 0;
      }),
    );
    return round1(Math.max(0, ...usages));
  }
}

// A directory can vanish while the service runs (an operator cleaning up logs): its parent is on the same
// filesystem as far as anyone can tell, and the report must not fail because of it.
async function statfsNearest(path: string): Promise<StatsFs> {
  for (let current = path; ; current = dirname(current)) {
    try {
      return await statfs(current);
    } catch (error) {
      if (dirname(current) === current) throw error;
    }
  }
}
