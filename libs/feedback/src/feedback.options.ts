import { ConfigurableModuleBuilder } from '@nestjs/common';

export interface FeedbackModuleOptions {
  /** The styles the generator can produce: the catalog the recommendations choose from. */
  artworkStyles: readonly string[];
}

export const {
  ConfigurableModuleClass: FeedbackConfigurableModule,
  MODULE_OPTIONS_TOKEN: FEEDBACK_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<FeedbackModuleOptions>()
  .setClassMethodName('forRoot')
  // Global: the workflows module asks the learning loop for recommendations and feedback summaries.
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
