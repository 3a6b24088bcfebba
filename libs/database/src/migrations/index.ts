import { CreateFeedback1764270000000 } from './1764270000000-create-feedback';

/** Every migration, oldest first. A new migration file must be added here. */
export const MIGRATIONS = [CreateFeedback1764270000000];
