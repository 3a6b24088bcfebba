import { Injectable } from '@nestjs/common';
import type { RequestTrace } from '@app/common';
import { currentRequestContext } from './request-context';

/** The current request's id, trace and user, wherever in the request's work it is asked; undefined outside one. */
@Injectable()
export class RequestContextService {
  get requestId(): string | undefined {
    return currentRequestContext()?.requestId;
  }

  get trace(): RequestTrace | undefined {
    return currentRequestContext()?.trace;
  }

  get userId(): string | undefined {
    return currentRequestContext()?.userId;
  }

  /** Records the current request's user (from a header, a body field or authentication); a no-op outside one. */
  setUserId(id: string): void {
    currentRequestContext()?.setUserId(id);
  }
}
