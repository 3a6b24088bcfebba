import { Injectable } from '@nestjs/common';

/** The process's CPU use between two samples, in percent of one core. */
@Injectable()
export class CpuSampler {
  private lastCpu = process.cpuUsage();
  private lastAt = process.hrtime.bigint();
  private lastPercent = 0;

  percentSinceLastSample(): number {
    const now = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    const elapsedMicros = Number(now - this.lastAt) / 1000;
    const usedMicros = cpu.user - this.lastCpu.user + (cpu.system - this.lastCpu.system);
    this.lastCpu = cpu;
    this.lastAt = now;
    if (elapsedMicros > 0) this.lastPercent = Math.round((usedMicros / elapsedMicros) * 10000) / 100;
    return this.lastPercent;
  }
}
