/** The Node.js major line this service is built and tested on (also in .nvmrc, engines and the Dockerfile). */
export const SUPPORTED_NODE_MAJOR = 24;

/**
 * One warning line when the service runs on an older Node.js than it supports, or undefined. Node 20 reached
 * end of life on 2026-04-30: the service still starts there, since many machines have it, but gets no security
 * fixes from Node and spends more CPU per request.
 */
export function runtimeWarning(version: string = process.versions.node): string | undefined {
  const major = Number(version.split('.')[0]);
  if (major >= SUPPORTED_NODE_MAJOR) return undefined;
  const eol = major <= 20 ? ' is past end of life (no security fixes) and' : '';
  return (
    `Node.js ${version}${eol} is older than the supported Node.js ${SUPPORTED_NODE_MAJOR} LTS; ` +
    `run this service on Node.js ${SUPPORTED_NODE_MAJOR} (nvm use, or source scripts/node24.sh)`
  );
}
