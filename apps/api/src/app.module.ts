import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { AppConfig } from '@app/config';
import { DatabaseModule } from '@app/database';
import { ErrorTrackingModule } from '@app/error-tracking';
import { FEEDBACK_CATEGORIES, FEEDBACK_TARGET_TYPES, FeedbackModule } from '@app/feedback';
import { HealthModule } from '@app/health';
import { LoggingModule } from '@app/logging';
import { MetricsModule } from '@app/metrics';
import { RateLimitModule } from '@app/rate-limit';
import { AppController } from './app.controller';
import { ErrorResponseFilter } from './errors/error-response.filter';
import { createValidationPipe } from './errors/validation.pipe';
import { ARTWORK_STYLES, WORKFLOW_TYPES } from './workflows/workflow.constants';
import { WorkflowsModule } from './workflows/workflows.module';

@Module({})
export class AppModule {
  /** The whole service for one validated configuration; tests build it with their own. */
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      // Global, so every module can inject the validated AppConfig.
      global: true,
      imports: [
        LoggingModule,
        DatabaseModule,
        MetricsModule.forRoot({
          workflowTypes: WORKFLOW_TYPES,
          artworkStyles: ARTWORK_STYLES,
          feedbackTargetTypes: FEEDBACK_TARGET_TYPES,
          feedbackCategories: FEEDBACK_CATEGORIES,
        }),
        ErrorTrackingModule,
        RateLimitModule.forRoot(config),
        HealthModule,
        FeedbackModule.forRoot({ artworkStyles: ARTWORK_STYLES }),
        WorkflowsModule,
      ],
      controllers: [AppController],
      exports: [AppConfig],
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: ErrorResponseFilter },
      ],
    };
  }
}
