import { routeOf, UNMATCHED_ROUTE } from './route-of';

describe('routeOf', () => {
  it('reads the route template once and keeps it on the request', () => {
    let reads = 0;
    const request = {
      get routeOptions() {
        reads++;
        return { url: '/api/workflows/:id' };
      },
    };
    expect(routeOf(request)).toBe('/api/workflows/:id');
    expect(routeOf(request)).toBe('/api/workflows/:id');
    expect(reads).toBe(1);
  });

  it('names a request that matched no route UNMATCHED', () => {
    expect(routeOf({ routeOptions: {} })).toBe(UNMATCHED_ROUTE);
  });
});
