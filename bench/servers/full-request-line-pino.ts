// The full service writing its "API Request" line through pino (as development's pretty console does) instead of
// the hand renderer, for the knobs scenario: what the hand-rendered line saves every request.
import '../../apps/api/src/instrument';
import { loadConfig } from '@app/config';
import { requestLinePinoFields, ROOT_LOGGER, type RootLogger } from '@app/logging';
import { bootstrap } from '../../apps/api/src/main';

void bootstrap(loadConfig(), (app) => {
  const root = app.get<RootLogger>(ROOT_LOGGER);
  root.logRequest = (level, fields) => {
    if (root.logger.isLevelEnabled(level)) root.logger[level](requestLinePinoFields(fields), 'API Request');
  };
});
