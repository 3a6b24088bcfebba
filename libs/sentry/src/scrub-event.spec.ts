import type { Event } from '@sentry/nestjs';
import { scrubEvent } from './scrub-event';

describe('scrubEvent', () => {
  it('redacts secrets in the free text of the message and exception values, as on log lines', () => {
    const event: Event = {
      message: 'connect postgres://app:hunter2@db/x failed',
      exception: { values: [{ type: 'Error', value: 'login failed password=hunter2' }] },
      extra: { note: 'Bearer hunter2', token: 'hunter2' },
    };
    const scrubbed = JSON.stringify(scrubEvent(event));
    expect(scrubbed).not.toContain('hunter2');
    expect(scrubbed).toContain('postgres://[REDACTED]@db/x');
    expect(scrubbed).toContain('password=[REDACTED]');
  });
});
