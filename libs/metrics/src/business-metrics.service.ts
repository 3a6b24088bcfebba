import { Inject, Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { METRIC_PREFIX, OTHER } from './metrics.constants';
import { MetricsService } from './metrics.service';
import { METRICS_MODULE_OPTIONS, type MetricsModuleOptions } from './metrics.options';

function closedSet(values: readonly string[]): (value: string | null | undefined) => string {
  const allowed = new Set(values);
  return (value) => (value && allowed.has(value) ? value : OTHER);
}

/** Counters for the platform's business events; label values outside the configured sets become `other`. */
@Injectable()
export class BusinessMetrics {
  private readonly started: Counter<'workflow_type'>;
  private readonly completed: Counter<'workflow_type'>;
  private readonly failed: Counter<'workflow_type'>;
  private readonly artworks: Counter<'style'>;
  private readonly feedback: Counter<'target_type' | 'category'>;
  private readonly workflowType: (value: string | null | undefined) => string;
  private readonly artworkStyle: (value: string | null | undefined) => string;
  private readonly targetType: (value: string | null | undefined) => string;
  private readonly category: (value: string | null | undefined) => string;

  constructor(metrics: MetricsService, @Inject(METRICS_MODULE_OPTIONS) options: MetricsModuleOptions) {
    const registers = [metrics.registry];
    this.workflowType = closedSet(options.workflowTypes);
    this.artworkStyle = closedSet(options.artworkStyles);
    this.targetType = closedSet(options.feedbackTargetTypes);
    this.category = closedSet(options.feedbackCategories);

    const workflow = (event: string, help: string) =>
      new Counter({
        name: `${METRIC_PREFIX}workflows_${event}_total`,
        help,
        labelNames: ['workflow_type'],
        registers,
      });
    this.started = workflow('started', 'Workflows started, by type.');
    this.completed = workflow('completed', 'Workflows completed successfully, by type.');
    this.failed = workflow('failed', 'Workflows that failed, by type.');
    this.artworks = new Counter({
      name: `${METRIC_PREFIX}artworks_generated_total`,
      help: 'Artworks generated, by style.',
      labelNames: ['style'],
      registers,
    });
    this.feedback = new Counter({
      name: `${METRIC_PREFIX}feedback_received_total`,
      help: 'User feedback stored, by target type and category.',
      labelNames: ['target_type', 'category'],
      registers,
    });

    // Known series start at 0, so rate() and "less than 1 per hour" alerts work from the first scrape.
    for (const type of [...options.workflowTypes, OTHER]) {
      for (const counter of [this.started, this.completed, this.failed])
        counter.inc({ workflow_type: type }, 0);
    }
    for (const style of [...options.artworkStyles, OTHER]) this.artworks.inc({ style }, 0);
    for (const target_type of options.feedbackTargetTypes) {
      for (const category of options.feedbackCategories) this.feedback.inc({ target_type, category }, 0);
    }
  }

  workflowStarted(workflowType: string): void {
    this.started.inc({ workflow_type: this.workflowType(workflowType) });
  }

  workflowCompleted(workflowType: string): void {
    this.completed.inc({ workflow_type: this.workflowType(workflowType) });
  }

  workflowFailed(workflowType: string): void {
    this.failed.inc({ workflow_type: this.workflowType(workflowType) });
  }

  artworkGenerated(style: string | null | undefined): void {
    this.artworks.inc({ style: this.artworkStyle(style) });
  }

  feedbackReceived(targetType: string, category: string): void {
    this.feedback.inc({ target_type: this.targetType(targetType), category: this.category(category) });
  }
}
