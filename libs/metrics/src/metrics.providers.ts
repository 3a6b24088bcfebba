import type { Provider } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import type { Server } from 'node:http';
import { statfs } from 'node:fs/promises';
import type { Counter, Gauge } from 'prom-client';
import { AppConfig } from '@app/config';
import { ROOT_LOGGER, type RootLogger } from '@app/logging';
import { DROP_REASONS, droppedErrorReports, type DropReason } from '@app/sentry';
import { METRIC_PREFIX } from './metrics.constants';
import { MetricCollectors } from './metric-collectors';
import { ResourceUsage } from './resource-usage';

/** Names of the metrics declared here; inject one with `@InjectMetric(METRICS.x)`. */
export const METRICS = {
  workflowsStarted: `${METRIC_PREFIX}workflows_started_total`,
  workflowsCompleted: `${METRIC_PREFIX}workflows_completed_total`,
  workflowsFailed: `${METRIC_PREFIX}workflows_failed_total`,
  artworksGenerated: `${METRIC_PREFIX}artworks_generated_total`,
  feedbackReceived: `${METRIC_PREFIX}feedback_received_total`,
  feedbackRatingAverage: `${METRIC_PREFIX}feedback_rating_average`,
  feedbackFlaggedTargets: `${METRIC_PREFIX}feedback_flagged_targets`,
  errorReportsDropped: `${METRIC_PREFIX}error_reports_dropped_total`,
  logWriteFailures: `${METRIC_PREFIX}log_write_failures_total`,
  logLinesDropped: `${METRIC_PREFIX}log_lines_dropped_total`,
  logBytesDropped: `${METRIC_PREFIX}log_bytes_dropped_total`,
  logDiskFree: `${METRIC_PREFIX}log_disk_free_bytes`,
  logDiskSize: `${METRIC_PREFIX}log_disk_size_bytes`,
  memoryUsage: `${METRIC_PREFIX}memory_usage_bytes`,
  cpuUsage: `${METRIC_PREFIX}cpu_usage_percent`,
  memoryUsagePercent: `${METRIC_PREFIX}memory_usage_percent`,
  memoryLimit: `${METRIC_PREFIX}memory_limit_bytes`,
  activeConnections: `${METRIC_PREFIX}active_connections`,
  databaseUp: `${METRIC_PREFIX}database_up`,
  buildInfo: `${METRIC_PREFIX}build_info`,
  rateLimited: `${METRIC_PREFIX}rate_limited_total`,
  rateLimitStoreErrors: `${METRIC_PREFIX}rate_limit_store_errors_total`,
  connectionsRefused: `${METRIC_PREFIX}connections_refused_total`,
  maxConnections: `${METRIC_PREFIX}max_connections`,
  recommendations: `${METRIC_PREFIX}recommendations_total`,
  artworkStyleRatingAverage: `${METRIC_PREFIX}artwork_style_rating_average`,
  learningLoopLastSuccess: `${METRIC_PREFIX}learning_loop_last_success_timestamp_seconds`,
  learningLoopDuration: `${METRIC_PREFIX}learning_loop_duration_seconds`,
  learningLoopFailures: `${METRIC_PREFIX}learning_loop_failures_total`,
  learningLoopInterval: `${METRIC_PREFIX}learning_loop_interval_seconds`,
} as const;

// `registers: []`: every metric goes to this app's own registry (MetricsService adds them), never to
// prom-client's global one, so two apps in one process (tests, benchmarks) keep their own values.
const own = { registers: [] };

const droppedSeen = new WeakMap<Counter, Record<DropReason, number>>();

/**
 * A counter that follows one of the log writer's running totals (RootLogger.loss()), one series per destination,
 * each from 0 at start: the writer keeps the totals, the scrape copies them.
 */
function logLossCounter(name: string, help: string, field: 'failures' | 'lines' | 'bytes'): Provider {
  return makeCounterProvider({
    ...own,
    name,
    help,
    labelNames: ['destination'],
    inject: [ROOT_LOGGER],
    collect(this: Counter, root: RootLogger) {
      this.reset();
      for (const loss of root.loss()) this.inc({ destination: loss.destination }, loss[field]);
    },
  });
}

/** The log directory's file system, read at scrape time; no series when logs go to the console only. */
function logDiskGauge(name: string, help: string, field: 'free' | 'size'): Provider {
  return makeGaugeProvider({
    ...own,
    name,
    help,
    inject: [ROOT_LOGGER],
    async collect(this: Gauge, root: RootLogger) {
      this.reset();
      if (!root.logDir) return;
      const fs = await statfs(root.logDir).catch(() => undefined);
      // bavail: the blocks an unprivileged process may still use, which is what the service runs as.
      if (fs) this.set(field === 'free' ? fs.bavail * fs.bsize : fs.blocks * fs.bsize);
    },
  });
}

/**
 * Every metric of the service but the per-request families (RequestMetrics), declared once, as
 * @willsoto/nestjs-prometheus providers. Values another module owns are set by it (injected) or computed at
 * scrape time by the collector it registers (MetricCollectors).
 */
export const METRIC_PROVIDERS: Provider[] = [
  makeCounterProvider({
    ...own,
    name: METRICS.recommendations,
    help: 'Artwork styles recommended to the generator, by style and reason (best, exploring, only_option).',
    labelNames: ['style', 'reason'],
  }),
  makeGaugeProvider({
    ...own,
    name: METRICS.artworkStyleRatingAverage,
    help: 'Average rating of the artworks of each known style, as of the last learning-loop recompute.',
    labelNames: ['style'],
    inject: [MetricCollectors],
    collect(this: Gauge, collectors: MetricCollectors) {
      return collectors.collect(METRICS.artworkStyleRatingAverage, this);
    },
  }),
  makeGaugeProvider({
    ...own,
    name: METRICS.learningLoopLastSuccess,
    help: 'When the newest insights this replica serves were computed (by it or another replica), in Unix seconds; 0 before the first.',
  }),
  makeHistogramProvider({
    ...own,
    name: METRICS.learningLoopDuration,
    help: 'Duration of the learning-loop recomputes this replica ran, successful or not.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
  }),
  makeCounterProvider({
    ...own,
    name: METRICS.learningLoopFailures,
    help: 'Learning-loop intervals that failed on this replica (the previous insights are served meanwhile).',
  }),
  makeGaugeProvider({
    ...own,
    name: METRICS.learningLoopInterval,
    help: 'The learning-loop interval (FEEDBACK_INSIGHTS_INTERVAL_MS), in seconds.',
    inject: [AppConfig],
    collect(this: Gauge, config: AppConfig) {
      this.set(config.insightsIntervalMs / 1000);
    },
  }),
  makeCounterProvider({
    ...own,
    name: METRICS.workflowsStarted,
    help: 'Workflows started, by type.',
    labelNames: ['workflow_type'],
  }),
  makeCounterProvider({
    ...own,
    name: METRICS.workflowsCompleted,
    help: 'Workflows completed successfully, by type.',
    labelNames: ['workflow_type'],
  }),
  makeCounterProvider({
    ...own,
    name: METRICS.workflowsFailed,
    help: 'Workflows that failed, by type.',
    labelNames: ['workflow_type'],
  }),
  makeCounterProvider({
    ...own,
    name: METRICS.artworksGenerated,
    help: 'Artworks generated, by style.',
    labelNames: ['style'],
  }),
  makeCounterProvider({
    ...own,
    name: METRICS.feedbackReceived,
    help: 'User feedback stored, by target type and category.',
    labelNames: ['target_type', 'category'],
  }),
  makeGaugeProvider({
    ...own,
    name: METRICS.feedbackRatingAverage,
    help: 'Average feedback rating, by target type, as of the last learning-loop recompute.',
    labelNames: ['target_type'],
    inject: [MetricCollectors],
    collect(this: Gauge, collectors: MetricCollectors) {
      return collectors.collect(METRICS.feedbackRatingAverage, this);
    },
  }),
  makeGaugeProvider({
    ...own,
    name: METRICS.feedbackFlaggedTargets,
    help: 'Workflows and artworks whose average rating is below the flag threshold from enough distinct raters, by target type.',
    labelNames: ['target_type'],
    inject: [MetricCollectors],
    collect(this: Gauge, collectors: MetricCollectors) {
      return collectors.collect(METRICS.feedbackFlaggedTargets, this);
    },
  }),
  makeCounterProvider({
    ...own,
    name: METRICS.rateLimited,
    help: 'Requests refused with 429 because their client exceeded RATE_LIMIT_WRITES or RATE_LIMIT_READS, by route template.',
    labelNames: ['route'],
  }),
  makeCounterProvider({
    ...own,
    name: METRICS.rateLimitStoreErrors,
    help: 'Rate-limit counter updates Redis did not answer (RATE_LIMIT_STORE=redis); each was counted in the replica memory instead.',
  }),
  makeCounterProvider({
    ...own,
    name: METRICS.connectionsRefused,
    help: 'TCP connections closed at once because MAX_CONNECTIONS were already open.',
  }),
  makeGaugeProvider({
    ...own,
    name: METRICS.maxConnections,
    help: 'Open HTTP connections allowed (MAX_CONNECTIONS, or derived from the file-descriptor limit).',
    inject: [HttpAdapterHost],
    collect(this: Gauge, adapterHost: HttpAdapterHost) {
      const http = adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
      if (http && Number.isFinite(http.maxConnections)) this.set(http.maxConnections);
    },
  }),
  makeCounterProvider({
    ...own,
    name: METRICS.errorReportsDropped,
    help: 'Error reports not delivered to Sentry, by reason: queue_full, network, timeout, rejected.',
    labelNames: ['reason'],
    collect(this: Counter) {
      // The transport counts drops process-wide; each app's counter follows it.
      const now = droppedErrorReports();
      const seen = droppedSeen.get(this) ?? { ...now, queue_full: 0, network: 0, timeout: 0, rejected: 0 };
      for (const reason of DROP_REASONS) {
        this.inc({ reason }, Math.max(0, now[reason] - seen[reason]));
      }
      droppedSeen.set(this, { ...now });
    },
  }),
  logLossCounter(
    METRICS.logWriteFailures,
    'Failed log writes and opens, and log files found removed under the writer, by destination (file name or stdout).',
    'failures',
  ),
  logLossCounter(
    METRICS.logLinesDropped,
    'Log lines that never reached their destination (file name or stdout), counted once each.',
    'lines',
  ),
  logLossCounter(
    METRICS.logBytesDropped,
    'Bytes (UTF-8) of the log lines counted in log_lines_dropped_total, by destination.',
    'bytes',
  ),
  logDiskGauge(
    METRICS.logDiskFree,
    'Bytes still free to the service on the file system of LOG_DIR (statfs at scrape time); absent when logs go to the console only.',
    'free',
  ),
  logDiskGauge(
    METRICS.logDiskSize,
    'Size in bytes of the file system of LOG_DIR (statfs at scrape time); absent when logs go to the console only.',
    'size',
  ),
  makeGaugeProvider({
    ...own,
    name: METRICS.memoryUsage,
    help: 'Memory used by the process, by type (rss, heap_used, heap_total, external).',
    labelNames: ['type'],
    collect() {
      const usage = process.memoryUsage();
      this.set({ type: 'rss' }, usage.rss);
      this.set({ type: 'heap_used' }, usage.heapUsed);
      this.set({ type: 'heap_total' }, usage.heapTotal);
      this.set({ type: 'external' }, usage.external);
    },
  }),
  makeGaugeProvider({
    ...own,
    name: METRICS.cpuUsage,
    help:
      'CPU used over the last minute (sampled by the service, whoever scrapes), in percent of the cores it may use: ' +
      'its cgroup cpu.max (source="cgroup"), else the host cores (source="host").',
    labelNames: ['source'],
    inject: [ResourceUsage],
    collect(this: Gauge, resources: ResourceUsage) {
      this.set({ source: resources.cpuSource }, resources.cpuPercent());
    },
  }),
  makeGaugeProvider({
    ...own,
    name: METRICS.memoryUsagePercent,
    help:
      'Memory in use, in percent of what the service may use: cgroup memory.current of memory.max ' +
      '(source="cgroup"), else the host memory in use (source="host").',
    labelNames: ['source'],
    inject: [ResourceUsage],
    collect(this: Gauge, resources: ResourceUsage) {
      this.set({ source: resources.memorySource }, resources.memoryPercent());
    },
  }),
  makeGaugeProvider({
    ...own,
    name: METRICS.memoryLimit,
    help: 'Memory the service may use: its cgroup memory.max (source="cgroup"), else the host memory (source="host").',
    labelNames: ['source'],
    inject: [ResourceUsage],
    collect(this: Gauge, resources: ResourceUsage) {
      this.set({ source: resources.memorySource }, resources.memoryLimitBytes());
    },
  }),
  makeGaugeProvider({
    ...own,
    name: METRICS.activeConnections,
    help: 'Open HTTP connections.',
    inject: [HttpAdapterHost],
    async collect(this: Gauge, adapterHost: HttpAdapterHost) {
      const http = adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
      const open = await new Promise<number>((resolve) =>
        http ? http.getConnections((error, count) => resolve(error ? 0 : count)) : resolve(0),
      );
      this.set(open);
    },
  }),
  makeGaugeProvider({
    ...own,
    name: METRICS.databaseUp,
    help: '1 when the last database check passed, 0 otherwise.',
    inject: [MetricCollectors],
    // A scrape runs the (cached, time-bounded) check itself, so the gauge is right even when nothing probes.
    collect(this: Gauge, collectors: MetricCollectors) {
      return collectors.collect(METRICS.databaseUp, this);
    },
  }),
  makeGaugeProvider({
    ...own,
    name: METRICS.buildInfo,
    help: 'Always 1; its labels say which version runs in which environment.',
    labelNames: ['version', 'environment'],
    inject: [AppConfig],
    collect(this: Gauge, config: AppConfig) {
      this.set({ version: config.releaseVersion, environment: config.environment }, 1);
    },
  }),
];
