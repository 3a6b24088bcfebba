import type { FastifyInstance, FastifyRequest } from 'fastify';
import FindMyWay from 'find-my-way';

const tables = new WeakMap<object, RouteTable>();

/**
 * The service's routes by method, kept beside Fastify's router (which has no notion of 405): when a request
 * matches no route, this says which methods its path does have. Only consulted for unmatched requests.
 */
class RouteTable {
  private readonly router = FindMyWay();
  private readonly methods = new Set<string>();

  add(method: string | string[], url: string): void {
    // Catch-all routes (CORS preflight's `OPTIONS *`) match every path: they say nothing about this one.
    if (url.includes('*')) return;
    for (const m of [method].flat()) {
      this.router.on(m as 'GET', url, () => undefined);
      this.methods.add(m);
    }
  }

  allowed(path: string): string[] {
    return [...this.methods].filter((method) => this.router.find(method as 'GET', path) !== null).sort();
  }
}

/** Records every route Fastify registers from now on; call before the app is initialised. */
export function trackRoutes(fastify: FastifyInstance): void {
  const table = new RouteTable();
  tables.set(fastify, table);
  fastify.addHook('onRoute', (route) => table.add(route.method, route.url ?? route.path));
}

/** The methods the request's path answers to, when it matched no route with its own method; [] for none. */
export function allowedMethods(request: FastifyRequest): string[] {
  const table = tables.get(request.server);
  if (!table) return [];
  const path = request.url.split('?', 1)[0];
  return table.allowed(path);
}
