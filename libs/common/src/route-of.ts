const ROUTE = Symbol('terra_constellata.route');

/** Label of a request that matched no route, so a scanner cannot create one series or name per path. */
export const UNMATCHED_ROUTE = 'UNMATCHED';

interface RoutedRequest {
  routeOptions: { url?: string };
}

/**
 * The route template of a Fastify request (`/api/workflows/:id`), or UNMATCHED. Computed once per request and
 * kept on it: Fastify's `routeOptions` getter builds a twelve-field object on every access, and the logging,
 * metrics and tracing hooks all need the route.
 */
export function routeOf(request: RoutedRequest): string {
  const cached = (request as RoutedRequest & { [ROUTE]?: string })[ROUTE];
  if (cached !== undefined) return cached;
  const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
  (request as RoutedRequest & { [ROUTE]?: string })[ROUTE] = route;
  return route;
}
