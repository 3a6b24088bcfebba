import { request as httpRequest } from 'node:http';
import { Client } from 'pg';
import { MIGRATIONS } from '@app/database';
import { Balancer } from '../bench/balancer';
import { startBuiltApp, type BuiltApp } from './support/built-app';
import { parseExposition, valueOf } from './support/exposition';
import { createTestDatabase, describePostgres, type TestDatabase } from './support/postgres';

const INTERVAL_MS = 2000;
const SUBMISSIONS = 3000;
const IN_FLIGHT = 3000;

/** One request on its own connection (no keep-alive), so the balancer spreads requests, not connections. */
function send(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const url = new URL(path, base);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method,
        agent: false,
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const GATEWAY_SECRET = 'replicas-gateway-secret-0123456789abcdef';

describePostgres('three replicas on one PostgreSQL, behind a round-robin balancer', () => {
  let db: TestDatabase;
  let replicas: BuiltApp[] = [];
  let balancer: Balancer;
  let pg: Client;
  const count = async (sql: string) => Number((await pg.query(sql)).rows[0].n);

  beforeAll(async () => {
    db = await createTestDatabase();
    // Started together: they race for the migrations.
    replicas = await Promise.all(
      [1, 2, 3].map(() =>
        startBuiltApp({
          DATABASE_URL: db.url,
          FEEDBACK_INSIGHTS_INTERVAL_MS: String(INTERVAL_MS),
          FEEDBACK_FLAG_MIN_RATINGS: '3',
          // One address sends everything: the users are distinct raters only as a gateway vouches for them.
          USER_ID_GATEWAY_SECRET: GATEWAY_SECRET,
        }),
      ),
    );
    balancer = await Balancer.start(replicas.map((r) => r.url));
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  }, 30_000);

  afterAll(async () => {
    await pg?.end();
    await balancer?.stop();
    await Promise.all(replicas.map((r) => r.stop()));
    await db?.drop();
  });

  it('ran each migration once although the three started together', async () => {
    const duplicated = await pg.query('SELECT name FROM schema_migrations GROUP BY name HAVING COUNT(*) > 1');
    expect(duplicated.rows).toEqual([]);
    expect(await count('SELECT COUNT(*) AS n FROM schema_migrations')).toBe(MIGRATIONS.length);
  });

  it(`stores exactly the ${SUBMISSIONS} concurrent submissions it answered 201, spread over the three`, async () => {
    const statuses = new Map<number, number>();
    let sent = 0;
    const worker = async () => {
      while (sent < SUBMISSIONS) {
        const i = sent++;
        const target = i % 5 === 0 ? 'submit' : `workflow/wf-${i % 7}`;
        // wf-0 gets bad ratings (flagged); the others good ones.
        const rating = target === 'workflow/wf-0' ? 1 : 4 + (i % 2);
        const res = await send(
          balancer.url,
          'POST',
          `/api/feedback/${target}`,
          { rating },
          { 'x-user-id': `user-${i}`, 'x-gateway-secret': GATEWAY_SECRET },
        );
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    expect(Object.fromEntries(statuses)).toEqual({ 201: SUBMISSIONS });
    expect(await count('SELECT COUNT(*) AS n FROM feedback')).toBe(SUBMISSIONS);
    // Each replica served about a third; together they counted every request once.
    const perReplica = await Promise.all(
      replicas.map(async (r) => {
        const samples = parseExposition((await send(r.url, 'GET', '/metrics')).body);
        return samples
          .filter(
            (s) =>
              s.name === 'terra_constellata_requests_total' && s.labels.route.startsWith('/api/feedback/'),
          )
          .reduce((sum, s) => sum + s.value, 0);
      }),
    );
    expect(perReplica.reduce((a, b) => a + b, 0)).toBe(SUBMISSIONS);
    for (const n of perReplica) expect(n).toBeGreaterThan(SUBMISSIONS / 3 - 50);
  }, 60_000);

  it('stores one row for one Idempotency-Key sent to two replicas at once', async () => {
    const headers = { 'x-user-id': 'twice', 'idempotency-key': 'cross-replica-1' };
    const body = { rating: 3, comment: 'sent twice' };
    const [a, b] = await Promise.all([
      send(replicas[0].url, 'POST', '/api/feedback/submit', body, headers),
      send(replicas[1].url, 'POST', '/api/feedback/submit', body, headers),
    ]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(JSON.parse(a.body).id).toBe(JSON.parse(b.body).id);
    expect(await count(`SELECT COUNT(*) AS n FROM feedback WHERE comment = 'sent twice'`)).toBe(1);
  });

  it('recomputes on one replica per interval, and every replica serves the same insights and gauges', async () => {
    const total = await count('SELECT COUNT(*) AS n FROM feedback');
    const served = async () =>
      Promise.all(
        replicas.map(async (r) => JSON.parse((await send(r.url, 'GET', '/api/feedback/insights')).body)),
      );
    // Within one interval (and a little), every replica answers the recompute that includes everything.
    let insights = await served();
    for (
      let i = 0;
      i < 40 &&
      !insights.every((x) => x.total_feedback === total && x.computed_at === insights[0].computed_at);
      i++
    ) {
      await new Promise((r) => setTimeout(r, 200));
      insights = await served();
    }
    expect(insights.map((x) => x.total_feedback)).toEqual([total, total, total]);
    expect(insights[1]).toEqual(insights[0]);
    expect(insights[2]).toEqual(insights[0]);
    expect(insights[0].flagged_targets.map((t: { target_id: string }) => t.target_id)).toEqual(['wf-0']);
    const gauges = await Promise.all(
      replicas.map(async (r) => {
        const samples = parseExposition((await send(r.url, 'GET', '/metrics')).body);
        return [
          valueOf(samples, 'terra_constellata_feedback_rating_average', { target_type: 'workflow' }),
          valueOf(samples, 'terra_constellata_feedback_flagged_targets', { target_type: 'workflow' }),
        ];
      }),
    );
    expect(gauges[1]).toEqual(gauges[0]);
    expect(gauges[2]).toEqual(gauges[0]);
    expect(gauges[0][1]).toBe(1);

    // Over three intervals, three recomputes in all (one replica each time), not nine.
    const before = await count('SELECT COUNT(*) AS n FROM feedback_insights');
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS + 300));
    const recomputes = (await count('SELECT COUNT(*) AS n FROM feedback_insights')) - before;
    expect(recomputes).toBeGreaterThanOrEqual(2);
    expect(recomputes).toBeLessThanOrEqual(4);
    // Each stored recompute was announced once, by the replica that ran it.
    const announced = replicas
      .map(
        (r) =>
          r
            .output()
            .split('\n')
            .filter((line) => line.includes('"feedback_insight_generated"')).length,
      )
      .reduce((a, b) => a + b, 0);
    expect(announced).toBe(await count('SELECT COUNT(*) AS n FROM feedback_insights'));
  }, 30_000);
});
