import { Injectable } from '@nestjs/common';
import type { Gauge } from 'prom-client';

type Collector = (gauge: Gauge) => void | Promise<void>;

/**
 * Scrape-time values that another module owns (the learning loop's averages, the database check): the metric is
 * declared in MetricsModule, and the owner registers how to compute it, so no module depends on the other's
 * internals and nothing is computed between scrapes.
 */
@Injectable()
export class MetricCollectors {
  private readonly collectors = new Map<string, Collector>();

  /** Computes the named metric at every scrape; replaces an earlier collector of the same metric. */
  register(metric: string, collect: Collector): void {
    this.collectors.set(metric, collect);
  }

  /** Called by the declared metric's collect(); leaves the gauge as it is when nobody registered. */
  async collect(metric: string, gauge: Gauge): Promise<void> {
    await this.collectors.get(metric)?.(gauge);
  }
}
