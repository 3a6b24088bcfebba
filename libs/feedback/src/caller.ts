import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { USER_ID_PATTERN } from './dto/submit-feedback.dto';

/** The header a gateway that authenticates users sends, with USER_ID_GATEWAY_SECRET, beside `x-user-id`. */
export const GATEWAY_SECRET_HEADER = 'x-gateway-secret';

/**
 * Who sent a submission, as far as the service can tell. `x-user-id` and a body's `user_id` are claims anyone
 * can make; only a user a gateway vouches for (USER_ID_GATEWAY_SECRET) is known. The client's address (behind
 * TRUST_PROXY, the one its proxies report) is what the service sees for itself.
 */
export interface Caller {
  ip: string;
  /** The `x-user-id` a configured gateway vouched for on this request; undefined otherwise. */
  vouchedUserId?: string;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Reads a request's caller. The secret is compared as SHA-256 digests in constant time, so neither its
 * length nor its bytes leak through the answer's timing.
 */
export function callerOf(request: FastifyRequest, gatewaySecret: Buffer | undefined): Caller {
  const caller: Caller = { ip: request.ip };
  if (gatewaySecret === undefined) return caller;
  const sent = request.headers[GATEWAY_SECRET_HEADER];
  const user = request.headers['x-user-id'];
  if (typeof sent !== 'string' || typeof user !== 'string' || !USER_ID_PATTERN.test(user)) return caller;
  if (timingSafeEqual(digest(sent), gatewaySecret)) caller.vouchedUserId = user;
  return caller;
}

/** USER_ID_GATEWAY_SECRET as callerOf compares it: digested once, at start. */
export function gatewaySecretDigest(secret: string | undefined): Buffer | undefined {
  return secret === undefined ? undefined : digest(secret);
}
