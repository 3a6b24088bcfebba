import { ConflictException, NotFoundException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource, Repository } from 'typeorm';
import { LearningLoopService, type RecommendedStyle } from '@app/feedback';
import { AppLogger } from '@app/logging';
import { BusinessMetrics } from '@app/metrics';
import { strictMock, type MockMembers } from '../../../../test/support/strict-mock';
import { ArtworkEntity } from './entities/artwork.entity';
import { WorkflowEntity } from './entities/workflow.entity';
import { WorkflowsService } from './workflows.service';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const STARTED = new Date('2026-03-10T12:00:00.000Z');

const stored = (fields: Partial<WorkflowEntity> = {}): WorkflowEntity =>
  Object.assign(new WorkflowEntity(), {
    id: 'wf-1',
    type: 'artwork_generation',
    status: 'running',
    input: null,
    error: null,
    startedAt: STARTED,
    endedAt: null,
    ...fields,
  });

/** The conditional UPDATE's query builder: records what it was told and answers `affected`. */
function updateBuilder(affected: number) {
  const told: { entity?: unknown; set?: Record<string, unknown>; where?: [string, Record<string, unknown>] } =
    {};
  const builder: Record<string, jest.Mock> = {
    update: jest.fn((entity: unknown) => ((told.entity = entity), builder)),
    set: jest.fn((values: Record<string, unknown>) => ((told.set = values), builder)),
    where: jest.fn((sql: string, params: Record<string, unknown>) => ((told.where = [sql, params]), builder)),
    execute: jest.fn(() => Promise.resolve({ affected, raw: [] })),
  };
  return { builder: strictMock<Record<string, jest.Mock>>('UpdateQueryBuilder', builder), told };
}

/** The members of a TypeORM repository the service uses (their answers are the test's, not TypeORM's types). */
type RepositoryMembers = Partial<
  Record<keyof Pick<Repository<object>, 'insert' | 'findOneBy' | 'createQueryBuilder'>, jest.Mock>
>;

interface Collaborators {
  workflows?: RepositoryMembers;
  artworks?: RepositoryMembers;
  business?: MockMembers<BusinessMetrics>;
  logger?: MockMembers<AppLogger>;
  learning?: MockMembers<LearningLoopService>;
}

async function serviceWith(c: Collaborators): Promise<WorkflowsService> {
  const repositories = new Map<unknown, object>([
    [WorkflowEntity, strictMock('Repository<WorkflowEntity>', c.workflows ?? {})],
    [ArtworkEntity, strictMock('Repository<ArtworkEntity>', c.artworks ?? {})],
  ]);
  const dataSource = strictMock<DataSource>('DataSource', {
    getRepository: jest.fn((entity: unknown) => {
      const repository = repositories.get(entity);
      if (!repository) throw new Error(`unexpected repository of ${String(entity)}`);
      return repository;
    }),
  } as MockMembers<DataSource>);
  const moduleRef = await Test.createTestingModule({
    providers: [
      WorkflowsService,
      { provide: getDataSourceToken(), useValue: dataSource },
      { provide: BusinessMetrics, useValue: strictMock('BusinessMetrics', c.business ?? {}) },
      { provide: AppLogger, useValue: strictMock('AppLogger', c.logger ?? {}) },
      { provide: LearningLoopService, useValue: strictMock('LearningLoopService', c.learning ?? {}) },
    ],
  }).compile();
  return moduleRef.get(WorkflowsService);
}

describe('WorkflowsService.start', () => {
  it('stores a running workflow, counts and logs it, and returns it (no recommendation for other types)', async () => {
    const insert = jest.fn(() => Promise.resolve());
    const workflowStarted = jest.fn();
    const logBusinessEvent = jest.fn();
    // No LearningLoopService members: asking it for a style here would fail the test.
    const service = await serviceWith({
      workflows: { insert },
      business: { workflowStarted },
      logger: { logBusinessEvent },
    });
    const started = await service.start('ingest', { source: 'sky' });

    expect(insert).toHaveBeenCalledTimes(1);
    const row = (insert.mock.calls[0] as unknown as [WorkflowEntity])[0];
    expect(row).toBeInstanceOf(WorkflowEntity);
    expect(row).toMatchObject({
      type: 'ingest',
      status: 'running',
      input: { source: 'sky' },
      error: null,
      endedAt: null,
    });
    expect(row.id).toMatch(UUID);
    expect(started).toEqual({
      id: row.id,
      type: 'ingest',
      status: 'running',
      input: { source: 'sky' },
      error: null,
      started_at: row.startedAt.toISOString(),
      ended_at: null,
    });
    expect(workflowStarted).toHaveBeenCalledWith('ingest');
    expect(logBusinessEvent).toHaveBeenCalledWith('workflow_started', {
      workflow_id: row.id,
      workflow_type: 'ingest',
    });
  });

  it('asks the learning loop which style an artwork_generation should use, and logs and returns it', async () => {
    const insert = jest.fn(() => Promise.resolve());
    const logBusinessEvent = jest.fn();
    const recommendation: RecommendedStyle = {
      style: 'impressionist',
      reason: 'best',
      score: 4.5,
      count: 12,
      enough_data: true,
    };
    const recommendedStyle = jest.fn(() => recommendation);
    const service = await serviceWith({
      workflows: { insert },
      business: { workflowStarted: jest.fn() },
      logger: { logBusinessEvent },
      learning: { recommendedStyle },
    });
    const started = await service.start('artwork_generation', undefined);
    expect(recommendedStyle).toHaveBeenCalledTimes(1);
    expect(started).toMatchObject({
      type: 'artwork_generation',
      input: null,
      recommended_style: recommendation,
    });
    expect(logBusinessEvent).toHaveBeenCalledWith('workflow_started', {
      workflow_id: started.id,
      workflow_type: 'artwork_generation',
      recommended_style: 'impressionist',
    });
  });

  it('counts and logs nothing when the insert fails', async () => {
    const down = new Error('connect ECONNREFUSED');
    // No BusinessMetrics, logger or learning members: any of them used would fail the test.
    const service = await serviceWith({
      workflows: { insert: jest.fn(() => Promise.reject(down)) },
    });
    await expect(service.start('artwork_generation', undefined)).rejects.toBe(down);
  });
});

describe('WorkflowsService.get', () => {
  it("answers the workflow with its feedback summary from the learning loop's roll-ups", async () => {
    const findOneBy = jest.fn(() => Promise.resolve(stored()));
    const targetSummary = jest.fn(() => Promise.resolve({ count: 3, average_rating: 4.33, flagged: false }));
    const service = await serviceWith({
      workflows: { findOneBy },
      learning: { targetSummary },
    });
    await expect(service.get('wf-1')).resolves.toEqual({
      id: 'wf-1',
      type: 'artwork_generation',
      status: 'running',
      input: null,
      error: null,
      started_at: STARTED.toISOString(),
      ended_at: null,
      feedback: { count: 3, average_rating: 4.33, flagged: false },
    });
    expect(findOneBy).toHaveBeenCalledWith({ id: 'wf-1' });
    expect(targetSummary).toHaveBeenCalledWith('workflow', 'wf-1');
  });

  it('answers 404 for an unknown id, without asking for its feedback', async () => {
    const service = await serviceWith({
      workflows: { findOneBy: jest.fn(() => Promise.resolve(null)) } as MockMembers<
        Repository<WorkflowEntity>
      >,
    });
    await expect(service.get('nope')).rejects.toThrow(new NotFoundException('workflow nope not found'));
  });
});

describe('WorkflowsService.complete and .fail', () => {
  it('ends a running workflow with one conditional UPDATE, then counts and logs the outcome it read back', async () => {
    const { builder, told } = updateBuilder(1);
    const ended = new Date('2026-03-10T12:05:00.000Z');
    const workflowCompleted = jest.fn();
    const logBusinessEvent = jest.fn();
    const service = await serviceWith({
      workflows: {
        createQueryBuilder: jest.fn(() => builder),
        findOneBy: jest.fn(() => Promise.resolve(stored({ status: 'completed', endedAt: ended }))),
      },
      business: { workflowCompleted },
      logger: { logBusinessEvent },
    });
    const record = await service.complete('wf-1');
    expect(told.entity).toBe(WorkflowEntity);
    expect(told.set).toEqual({ status: 'completed', error: null, endedAt: expect.any(Date) });
    // Only a running workflow may end: two concurrent attempts cannot both succeed.
    expect(told.where).toEqual(['id = :id AND status = :running', { id: 'wf-1', running: 'running' }]);
    expect(record).toMatchObject({ status: 'completed', ended_at: ended.toISOString() });
    expect(workflowCompleted).toHaveBeenCalledWith('artwork_generation');
    expect(logBusinessEvent).toHaveBeenCalledWith('workflow_completed', {
      workflow_id: 'wf-1',
      workflow_type: 'artwork_generation',
    });
  });

  it('fails a running workflow with its error, counted and logged as a failure', async () => {
    const { builder, told } = updateBuilder(1);
    const workflowFailed = jest.fn();
    const logBusinessEvent = jest.fn();
    const service = await serviceWith({
      workflows: {
        createQueryBuilder: jest.fn(() => builder),
        findOneBy: jest.fn(() => Promise.resolve(stored({ status: 'failed', error: 'GPU out of memory' }))),
      },
      business: { workflowFailed },
      logger: { logBusinessEvent },
    });
    await expect(service.fail('wf-1', 'GPU out of memory')).resolves.toMatchObject({ status: 'failed' });
    expect(told.set).toMatchObject({ status: 'failed', error: 'GPU out of memory' });
    expect(workflowFailed).toHaveBeenCalledWith('artwork_generation');
    expect(logBusinessEvent).toHaveBeenCalledWith('workflow_failed', {
      workflow_id: 'wf-1',
      workflow_type: 'artwork_generation',
      error: 'GPU out of memory',
    });
  });

  it('answers 409 naming the status when the workflow has already ended, and counts nothing', async () => {
    const { builder } = updateBuilder(0);
    const service = await serviceWith({
      workflows: {
        createQueryBuilder: jest.fn(() => builder),
        findOneBy: jest.fn(() => Promise.resolve(stored({ status: 'failed' }))),
      },
    });
    await expect(service.complete('wf-1')).rejects.toThrow(
      new ConflictException('workflow wf-1 is failed; only a running workflow can be completed'),
    );
  });

  it('answers 404 for an unknown id', async () => {
    const { builder } = updateBuilder(0);
    const service = await serviceWith({
      workflows: {
        createQueryBuilder: jest.fn(() => builder),
        findOneBy: jest.fn(() => Promise.resolve(null)),
      },
    });
    await expect(service.fail('nope', 'x')).rejects.toThrow(NotFoundException);
  });
});

describe('WorkflowsService.recordArtwork', () => {
  it('stores an artwork of an existing workflow, counts it by style and logs it', async () => {
    const insert = jest.fn(() => Promise.resolve());
    const artworkGenerated = jest.fn();
    const logBusinessEvent = jest.fn();
    const service = await serviceWith({
      workflows: { findOneBy: jest.fn(() => Promise.resolve(stored())) } as MockMembers<
        Repository<WorkflowEntity>
      >,
      artworks: { insert },
      business: { artworkGenerated },
      logger: { logBusinessEvent },
    });
    const artwork = await service.recordArtwork('wf-1', 'cubist');
    const row = (insert.mock.calls[0] as unknown as [ArtworkEntity])[0];
    expect(row).toBeInstanceOf(ArtworkEntity);
    expect(row).toMatchObject({ workflowId: 'wf-1', style: 'cubist' });
    expect(artwork).toEqual({
      id: row.id,
      workflow_id: 'wf-1',
      style: 'cubist',
      created_at: row.createdAt.toISOString(),
    });
    expect(artworkGenerated).toHaveBeenCalledWith('cubist');
    expect(logBusinessEvent).toHaveBeenCalledWith('artwork_generated', {
      artwork_id: row.id,
      workflow_id: 'wf-1',
      style: 'cubist',
    });
  });

  it("stores an artwork of no workflow as style 'other' when none is given, without looking a workflow up", async () => {
    const insert = jest.fn(() => Promise.resolve());
    const service = await serviceWith({
      artworks: { insert },
      business: { artworkGenerated: jest.fn() },
      logger: { logBusinessEvent: jest.fn() },
    });
    await expect(service.recordArtwork(undefined, undefined)).resolves.toMatchObject({
      workflow_id: null,
      style: 'other',
    });
    expect(insert).toHaveBeenCalledTimes(1);
  });

  it('answers 404 for an unknown workflow and stores nothing', async () => {
    const service = await serviceWith({
      workflows: { findOneBy: jest.fn(() => Promise.resolve(null)) } as MockMembers<
        Repository<WorkflowEntity>
      >,
    });
    await expect(service.recordArtwork('nope', 'cubist')).rejects.toThrow(NotFoundException);
  });
});
