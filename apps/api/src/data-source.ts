// Entry point for the TypeORM CLI (npm run migration:generate / migration:run); the service never imports it.
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from '@app/config';
import { buildDataSourceOptions } from '@app/database';
import { FeedbackEntity, FeedbackInsightEntity } from '@app/feedback';
import { ArtworkEntity } from './workflows/entities/artwork.entity';
import { WorkflowEntity } from './workflows/entities/workflow.entity';

export default new DataSource(
  buildDataSourceOptions(loadConfig().database, {
    entities: [FeedbackEntity, FeedbackInsightEntity, WorkflowEntity, ArtworkEntity],
  }),
);
