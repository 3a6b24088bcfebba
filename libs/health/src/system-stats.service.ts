import { Injectable } from '@nestjs/common';
import { statfs } from 'node:fs/promises';
import type { StatsFs } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AppConfig } from '@app/config';
import { ResourceUsage } from '@app/metrics';

const round1 = (value: number) => Math.round(value * 10) / 10;

/** The figures of the /health report's `system` block: the service's CPU and memory against its limits, and disk. */
@Injectable()
export class SystemStats {
  private readonly paths: string[];

  constructor(
    config: AppConfig,
    readonly resources: ResourceUsage,
  ) {
    const paths = [config.database.type === 'sqlite' ? dirname(resolve(config.database.path)) : resolve('.')];
    if (config.logDir) paths.push(resolve(config.logDir));
    this.paths = [...new Set(paths)];
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
