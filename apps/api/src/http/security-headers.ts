import helmet, { type HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Headers for a JSON API (OWASP REST Security): nothing may be loaded or framed from a response, no MIME
 * sniffing, HTTPS only, no referrer. helmet's defaults also send headers meant for HTML pages in old browsers
 * (X-XSS-Protection, X-Download-Options, X-DNS-Prefetch-Control, ...): ~650 bytes on every response, and
 * writing the response is the dearest part of a small request here. The Swagger UI page gets its own policy.
 */
export const HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  },
  crossOriginEmbedderPolicy: false,
  crossOriginOpenerPolicy: false,
  crossOriginResourcePolicy: { policy: 'same-origin' },
  frameguard: { action: 'deny' },
  originAgentCluster: false,
  referrerPolicy: { policy: 'no-referrer' },
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
};

/** The policy of the Swagger UI page: scripts, styles and images from this origin only. */
export const DOCS_CSP =
  "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";

/**
 * helmet's headers, computed once. @fastify/helmet rebuilds helmet's middleware and re-parses the CSP on every
 * request (about 7 % of the CPU of a small endpoint here); the headers never change, so they are made at start.
 */
export function securityHeaders(options: HelmetOptions = HELMET_OPTIONS): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string | number) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
  });
  return Object.freeze(headers);
}
