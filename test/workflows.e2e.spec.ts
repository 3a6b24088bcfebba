import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { createTestApp, type TestApp } from './support/app';
import { ENGINES } from './support/engines';
import { parseExposition, valueOf, valueOrZero, type Sample } from './support/exposition';
import { logql } from './support/logql';

for (const engine of ENGINES) {
  engine.describe(`workflows and artworks on ${engine.name}`, () => {
    let t: TestApp;
    let server: Parameters<typeof request>[0];
    let cleanup: () => Promise<void>;

    const scrape = async () => parseExposition((await request(server).get('/metrics').expect(200)).text);
    const delta = (before: Sample[], after: Sample[], name: string, labels: Record<string, string>) =>
      valueOf(after, `terra_constellata_${name}`, labels) -
      valueOrZero(before, `terra_constellata_${name}`, labels);

    beforeAll(async () => {
      const setup = await engine.setup();
      cleanup = setup.cleanup;
      t = await createTestApp(setup.env);
      server = t.app.getHttpServer();
    });

    afterAll(async () => {
      await t.close();
      await cleanup();
    });

    it('starts, reads and completes a workflow, counting and logging each event', async () => {
      const before = await scrape();
      const started = await request(server)
        .post('/api/workflows')
        .send({ type: 'map_rendering', input: { region: 'orion' } })
        .expect(201);
      expect(started.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        type: 'map_rendering',
        status: 'running',
        input: { region: 'orion' },
        error: null,
        started_at: expect.any(String),
        ended_at: null,
      });
      const id = started.body.id as string;
      expect((await request(server).get(`/api/workflows/${id}`).expect(200)).body).toEqual({
        ...started.body,
        feedback: { count: 0, average_rating: null, flagged: false },
      });
      const completed = await request(server).post(`/api/workflows/${id}/complete`).expect(200);
      expect(completed.body).toMatchObject({ id, status: 'completed', ended_at: expect.any(String) });
      const after = await scrape();
      expect(delta(before, after, 'workflows_started_total', { workflow_type: 'map_rendering' })).toBe(1);
      expect(delta(before, after, 'workflows_completed_total', { workflow_type: 'map_rendering' })).toBe(1);
      expect(delta(before, after, 'workflows_failed_total', { workflow_type: 'map_rendering' })).toBe(0);

      await sleep(400);
      const lines = readFileSync(join(t.config.logDir, 'terra_constellata.log'), 'utf8')
        .split('\n')
        .filter(Boolean);
      const completions = logql('{job="terra_constellata"} |= "workflow" |= "completed"', lines).map((l) =>
        JSON.parse(l),
      );
      expect(completions.filter((l) => l.workflow_id === id)).toEqual([
        expect.objectContaining({
          level: 'BUSINESS',
          msg: 'workflow_completed',
          workflow_type: 'map_rendering',
        }),
      ]);
      expect(lines.some((l) => l.includes('"workflow_started"') && l.includes(id))).toBe(true);
    });

    it('fails a running workflow with its error, and refuses illegal transitions with 409', async () => {
      const before = await scrape();
      const { body } = await request(server)
        .post('/api/workflows')
        .send({ type: 'data_ingestion' })
        .expect(201);
      const failed = await request(server)
        .post(`/api/workflows/${body.id}/fail`)
        .send({ error: 'source unreachable' })
        .expect(200);
      expect(failed.body).toMatchObject({ status: 'failed', error: 'source unreachable' });
      const conflict = await request(server).post(`/api/workflows/${body.id}/complete`).expect(409);
      expect(conflict.body).toMatchObject({ statusCode: 409, message: expect.stringContaining('is failed') });
      await request(server).post(`/api/workflows/${body.id}/fail`).send({ error: 'again' }).expect(409);
      const after = await scrape();
      expect(delta(before, after, 'workflows_failed_total', { workflow_type: 'data_ingestion' })).toBe(1);
      expect(delta(before, after, 'workflows_completed_total', { workflow_type: 'data_ingestion' })).toBe(0);
    });

    it('lets only one of two concurrent endings win', async () => {
      const { body } = await request(server)
        .post('/api/workflows')
        .send({ type: 'insight_analysis' })
        .expect(201);
      const results = await Promise.all([
        request(server).post(`/api/workflows/${body.id}/complete`),
        request(server).post(`/api/workflows/${body.id}/fail`).send({ error: 'raced' }),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    });

    it('counts an unknown workflow type as "other"', async () => {
      const before = await scrape();
      await request(server).post('/api/workflows').send({ type: 'teleportation' }).expect(201);
      const after = await scrape();
      expect(delta(before, after, 'workflows_started_total', { workflow_type: 'other' })).toBe(1);
      expect(after.some((s) => s.labels.workflow_type === 'teleportation')).toBe(false);
    });

    it('answers 404 for an unknown workflow and 400 for bad input', async () => {
      await request(server).get(`/api/workflows/${randomUUID()}`).expect(404);
      await request(server).post(`/api/workflows/${randomUUID()}/complete`).expect(404);
      const badId = await request(server).get('/api/workflows/not-a-uuid').expect(400);
      expect(badId.body.details).toEqual(['id: id must be a UUID']);
      const badType = await request(server).post('/api/workflows').send({ type: 'Has Spaces' }).expect(400);
      expect(badType.body.details.join()).toContain('type: type must be 1-64 characters');
      const noError = await request(server).post(`/api/workflows/${randomUUID()}/fail`).send({}).expect(400);
      expect(noError.body.details.join()).toContain('error: ');
    });

    it('records artworks, with or without a workflow, counting them by style', async () => {
      const before = await scrape();
      const { body: workflow } = await request(server)
        .post('/api/workflows')
        .send({ type: 'artwork_generation' })
        .expect(201);
      const art = await request(server)
        .post('/api/artworks')
        .send({ workflow_id: workflow.id, style: 'celestial' })
        .expect(201);
      expect(art.body).toEqual({
        id: expect.any(String),
        workflow_id: workflow.id,
        style: 'celestial',
        created_at: expect.any(String),
      });
      const plain = await request(server).post('/api/artworks').send({}).expect(201);
      expect(plain.body).toMatchObject({ workflow_id: null, style: 'other' });
      await request(server).post('/api/artworks').send({ workflow_id: randomUUID() }).expect(404);
      await request(server).post('/api/artworks').send({ style: 'Neon!' }).expect(400);
      const after = await scrape();
      expect(delta(before, after, 'artworks_generated_total', { style: 'celestial' })).toBe(1);
      expect(delta(before, after, 'artworks_generated_total', { style: 'other' })).toBe(1);
    });
  });
}
