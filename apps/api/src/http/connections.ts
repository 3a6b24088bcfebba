import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Counter } from 'prom-client';
import { requestIdFor } from '@app/logging';

/** Connections the default cap leaves to everything else that needs a descriptor (log files, Redis, DNS...). */
const RESERVED_DESCRIPTORS = 128;
/** The default cap never goes above this, whatever the descriptor limit: each open connection costs memory. */
const DEFAULT_CAP_CEILING = 10_000;
/** A connection accepted this recently may still have its first request on the way. */
const JUST_ACCEPTED_MS = 1000;

/** The soft limit on open files of this process (Linux), or undefined where /proc does not say. */
export function fileDescriptorLimit(limits = '/proc/self/limits'): number | undefined {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(limits, 'utf8'));
    return line && line[1] !== 'unlimited' ? Number(line[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * MAX_CONNECTIONS when set; else the descriptor limit less the database pool and a reserve, at most 10,000, so
 * a flood of connections is refused before the process runs out of descriptors for its own files and pool.
 */
export function connectionCap(configured: number | undefined, poolSize: number, fdLimit?: number): number {
  if (configured !== undefined) return configured;
  if (fdLimit === undefined) return DEFAULT_CAP_CEILING;
  return Math.max(16, Math.min(DEFAULT_CAP_CEILING, fdLimit - poolSize - RESERVED_DESCRIPTORS));
}

/**
 * Caps open connections at `max` (Node's server.maxConnections: one over it is closed as soon as it is
 * accepted), counts each refusal, and on a refusal closes the keep-alive connections that sit idle between
 * requests (at most once a second), so a crowd of idle clients cannot keep new ones out for their whole
 * keep-alive time. Connections that never send a request are closed by the headers timeout.
 */
export function limitConnections(server: Server, max: number, refused: Counter): void {
  server.maxConnections = max;
  let shedAt = 0;
  server.on('drop', () => {
    refused.inc();
    const now = Date.now();
    if (now - shedAt < 1000) return;
    shedAt = now;
    server.closeIdleConnections();
  });
}

type ClientSocket = Socket & { _httpMessage?: ServerResponse | null };

/**
 * As the listener closes, ends the connections that carry no request: Node's close() ends the idle keep-alive
 * ones, not those that never sent one. A connection accepted less than a second ago is left to
 * send its request (its answer says `Connection: close`); the others are ended at once, so shutdown waits for
 * requests in flight, not for the patience of silent clients.
 */
export function closeSilentConnectionsOnClose(fastify: FastifyInstance): void {
  const open = new Map<ClientSocket, number>();
  fastify.server.on('connection', (socket: ClientSocket) => {
    open.set(socket, Date.now());
    socket.once('close', () => open.delete(socket));
  });
  const sweep = () => {
    const now = Date.now();
    let waiting = false;
    for (const [socket, acceptedAt] of open) {
      if (socket._httpMessage) continue;
      if (now - acceptedAt < JUST_ACCEPTED_MS) waiting = true;
      else socket.destroy();
    }
    if (waiting) setTimeout(sweep, 100).unref();
  };
  // preClose runs after the grace period, as the listener closes.
  fastify.addHook('preClose', (done) => {
    sweep();
    done();
  });
}

/**
 * Fastify's clientError answer (408 when a request is not received within REQUEST_TIMEOUT_MS or its head within
 * HEADERS_TIMEOUT_MS, 431 for a head too large, 400 for what cannot be parsed), with the service's error body,
 * `Connection: close`, and only when nothing has been answered on the connection for that request: a request
 * gets one answer, never a second one on a connection that a client may read as the answer to its next request.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: ClientSocket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const response = socket._httpMessage;
  if (socket.writable && !response?.headersSent) {
    const status =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const message =
      status === 408
        ? 'The request was not received in time (HEADERS_TIMEOUT_MS for its head, REQUEST_TIMEOUT_MS for all of it)'
        : status === 431
          ? 'The request head is too large'
          : 'The request could not be parsed as HTTP/1.1';
    const request = (response as (ServerResponse & { req?: IncomingMessage }) | null | undefined)?.req;
    const body = JSON.stringify({
      statusCode: status,
      error: STATUS_CODES[status],
      message,
      request_id: request ? requestIdFor(request) : requestIdFor({ headers: {} } as IncomingMessage),
    });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
