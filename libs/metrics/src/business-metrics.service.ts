import { Inject, Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { OTHER } from './metrics.constants';
import { METRICS_MODULE_OPTIONS, type MetricsModuleOptions } from './metrics.options';
import { METRICS } from './metrics.providers';

/** Why the learning loop recommended a style (the reason label of recommendations_total). */
export const RECOMMENDATION_REASONS = ['best', 'exploring', 'only_option'] as const;

function closedSet(values: readonly string[]): (value: string | null | undefined) => string {
  const allowed = new Set(values);
  return (value) => (value && allowed.has(value) ? value : OTHER);
}

/** Counts the platform's business events; label values outside the configured sets become `other`. */
@Injectable()
export class BusinessMetrics {
  private readonly workflowType: (value: string | null | undefined) => string;
  private readonly artworkStyle: (value: string | null | undefined) => string;
  private readonly targetType: (value: string | null | undefined) => string;
  private readonly category: (value: string | null | undefined) => string;

  constructor(
    @InjectMetric(METRICS.workflowsStarted) private readonly started: Counter<'workflow_type'>,
    @InjectMetric(METRICS.workflowsCompleted) private readonly completed: Counter<'workflow_type'>,
    @InjectMetric(METRICS.workflowsFailed) private readonly failed: Counter<'workflow_type'>,
    @InjectMetric(METRICS.artworksGenerated) private readonly artworks: Counter<'style'>,
    @InjectMetric(METRICS.feedbackReceived) private readonly feedback: Counter<'target_type' | 'category'>,
    @InjectMetric(METRICS.recommendations) private readonly recommendations: Counter<'style' | 'reason'>,
    @Inject(METRICS_MODULE_OPTIONS) options: MetricsModuleOptions,
  ) {
    this.workflowType = closedSet(options.workflowTypes);
    this.artworkStyle = closedSet(options.artworkStyles);
    this.targetType = closedSet(options.feedbackTargetTypes);
    this.category = closedSet(options.feedbackCategories);

    // Known series start at 0, so rate() and "less than 1 per hour" alerts work from the first scrape.
    for (const type of [...options.workflowTypes, OTHER]) {
      for (const counter of [started, completed, failed]) counter.inc({ workflow_type: type }, 0);
    }
    for (const style of [...options.artworkStyles, OTHER]) {
      artworks.inc({ style }, 0);
      for (const reason of RECOMMENDATION_REASONS) recommendations.inc({ style, reason }, 0);
    }
    for (const target_type of options.feedbackTargetTypes) {
      for (const category of options.feedbackCategories) feedback.inc({ target_type, category }, 0);
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

  styleRecommended(style: string, reason: string): void {
    this.recommendations.inc({ style: this.artworkStyle(style), reason });
  }

  feedbackReceived(targetType: string, category: string): void {
    this.feedback.inc({ target_type: this.targetType(targetType), category: this.category(category) });
  }
}
