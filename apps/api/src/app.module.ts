import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { AppConfig, AppConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { FEEDBACK_CATEGORIES, FEEDBACK_TARGET_TYPES } from '@app/feedback';
import { HealthModule } from '@app/health';
import { LoggingModule } from '@app/logging';
import { MetricsModule } from '@app/metrics';
import { AppController } from './app.controller';
import { HttpExceptionFilter } from './errors/http-exception.filter';
import { createValidationPipe } from './errors/validation.pipe';
import { ARTWORK_STYLES, WORKFLOW_TYPES } from './workflows/workflow.constants';

@Module({})
export class AppModule {
  /** The whole service for one validated configuration; tests build it with their own. */
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot({ config, isGlobal: true }),
        LoggingModule,
        DatabaseModule,
        MetricsModule.forRoot({
          workflowTypes: WORKFLOW_TYPES,
          artworkStyles: ARTWORK_STYLES,
          feedbackTargetTypes: FEEDBACK_TARGET_TYPES,
          feedbackCategories: FEEDBACK_CATEGORIES,
        }),
        HealthModule,
      ],
      controllers: [AppController],
      providers: [
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
      ],
    };
  }
}
