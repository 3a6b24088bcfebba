import { ConfigurableModuleBuilder, Module } from '@nestjs/common';
import { AppConfig } from './config.types';

export interface ConfigModuleOptions {
  config: AppConfig;
}

const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } = new ConfigurableModuleBuilder<ConfigModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

/** Makes the validated AppConfig injectable everywhere. */
@Module({
  providers: [
    {
      provide: AppConfig,
      inject: [MODULE_OPTIONS_TOKEN],
      useFactory: (options: ConfigModuleOptions) => options.config,
    },
  ],
  exports: [AppConfig],
})
export class AppConfigModule extends ConfigurableModuleClass {}
