// Entry point for the TypeORM CLI (npm run migration:generate / migration:run); the service never imports it.
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from '@app/config';
import { buildDataSourceOptions } from '@app/database';
import { FeedbackEntity } from '@app/feedback';

export default new DataSource(buildDataSourceOptions(loadConfig().database, { entities: [FeedbackEntity] }));
