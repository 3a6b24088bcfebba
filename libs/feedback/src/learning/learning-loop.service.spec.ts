import { Test } from '@nestjs/testing';
import { getToken } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { AppConfig, parseConfig } from '@app/config';
import { AppLogger } from '@app/logging';
import { BusinessMetrics, MetricCollectors, METRICS } from '@app/metrics';
import { strictMock, type MockMembers } from '../../../../test/support/strict-mock';
import { FeedbackAggregatesRepository, type Cell } from '../aggregates/feedback-aggregates.repository';
import { FeedbackAggregatesService } from '../aggregates/feedback-aggregates.service';
import type { FeedbackInsightEntity } from '../entities/feedback-insight.entity';
import { FEEDBACK_MODULE_OPTIONS } from '../feedback.options';
import { FeedbackRepository } from '../feedback.repository';
import { RecommendationRandom } from './bandit';
import type { FeedbackInsights } from './insights.types';
import { LearningLoopService } from './learning-loop.service';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const INTERVAL_MS = 60_000;
const LOCK = 7_203_114_501;
const CATALOG = ['impressionist', 'cubist'];

// Every collaborator answers at once, so one turn of the event loop runs a whole interval's work.
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

const cell = (fields: Partial<Cell>): Cell => ({
  day: '',
  target_type: 'artwork',
  category: 'other',
  rating: 5,
  sentiment: 'positive',
  count: 1,
  sum: 5,
  ...fields,
});

/** The roll-ups of three ratings: two 5s for artworks, one 1 for a workflow. */
function rollups(): MockMembers<FeedbackAggregatesRepository> {
  const all = [
    cell({ count: 2, sum: 10 }),
    cell({ target_type: 'workflow', rating: 1, sentiment: 'negative', count: 1, sum: 1 }),
  ];
  return {
    cells: jest.fn(() => Promise.resolve(all)),
    lowestRated: jest.fn(() =>
      Promise.resolve({
        targets: [{ type: 'workflow' as const, id: 'wf-1', count: 1, sum: 1, raters: 1 }],
        total: 1,
      }),
    ),
    flagged: jest.fn(() => Promise.resolve({ targets: [], byType: { artwork: 0, workflow: 1 } })),
    ratingsByStyleAndType: jest.fn(() =>
      Promise.resolve({
        styles: [
          { key: 'impressionist', count: 2, sum: 10, raters: 2 },
          { key: 'not-in-the-catalog', count: 1, sum: 2, raters: 1 },
        ],
        types: [{ key: 'artwork_generation', count: 1, sum: 1, raters: 1 }],
      }),
    ),
  };
}

/** What another replica stored: the insights every replica then serves. */
const storedBy = (computedAt: Date, total: number): FeedbackInsightEntity =>
  ({
    id: 'stored',
    computedAt,
    trigger: 'schedule',
    payload: {
      computed_at: computedAt.toISOString(),
      trigger: 'schedule',
      total_feedback: total,
      average_rating_by_target_type: { general: null, workflow: 2, artwork: 4.5 },
      flagged_by_type: { artwork: 3, workflow: 0 },
      rankings: { computed_at: computedAt.toISOString() },
      styles: [],
    } as unknown as FeedbackInsights,
  }) as FeedbackInsightEntity;

interface Setup {
  postgres: boolean;
  ready?: boolean;
  repository?: MockMembers<FeedbackRepository>;
  aggregates?: MockMembers<FeedbackAggregatesRepository>;
}

async function loopWith(setup: Setup) {
  const metrics = {
    lastSuccess: { set: jest.fn() },
    end: jest.fn(),
    failures: { inc: jest.fn() },
  };
  const collectors = new Map<string, (gauge: Gauge) => void>();
  const logger = { logException: jest.fn(), logBusinessEvent: jest.fn() };
  const business = { styleRecommended: jest.fn() };
  const moduleRef = await Test.createTestingModule({
    providers: [
      LearningLoopService,
      { provide: FeedbackRepository, useValue: strictMock('FeedbackRepository', setup.repository ?? {}) },
      {
        provide: FeedbackAggregatesRepository,
        useValue: strictMock('FeedbackAggregatesRepository', {
          postgres: setup.postgres,
          ...setup.aggregates,
        }),
      },
      {
        provide: FeedbackAggregatesService,
        useValue: strictMock<FeedbackAggregatesService>('FeedbackAggregatesService', {
          isReady: setup.ready ?? true,
          assertReady: jest.fn(),
        }),
      },
      { provide: AppConfig, useValue: parseConfig({ FEEDBACK_INSIGHTS_INTERVAL_MS: String(INTERVAL_MS) }) },
      { provide: AppLogger, useValue: strictMock('AppLogger', logger) },
      {
        provide: MetricCollectors,
        useValue: strictMock<MetricCollectors>('MetricCollectors', {
          register: jest.fn(
            (name: string, collect: (gauge: Gauge) => void) => void collectors.set(name, collect),
          ),
        }),
      },
      { provide: BusinessMetrics, useValue: strictMock('BusinessMetrics', business) },
      { provide: RecommendationRandom, useValue: new RecommendationRandom(1) },
      { provide: FEEDBACK_MODULE_OPTIONS, useValue: { artworkStyles: CATALOG } },
      {
        provide: getToken(METRICS.learningLoopLastSuccess),
        useValue: strictMock<Gauge>('learning_loop_last_success', metrics.lastSuccess),
      },
      {
        provide: getToken(METRICS.learningLoopDuration),
        useValue: strictMock<Histogram>('learning_loop_duration', { startTimer: jest.fn(() => metrics.end) }),
      },
      {
        provide: getToken(METRICS.learningLoopFailures),
        useValue: strictMock<Counter>('learning_loop_failures', metrics.failures),
      },
    ],
  }).compile();
  const loop = moduleRef.get(LearningLoopService);
  /** What a scrape would set: the registered collector run against a recording gauge. */
  const scrape = (metric: string) => {
    const set = new Map<string, number>();
    const removed: string[] = [];
    const gauge = strictMock<Gauge>(metric, {
      set: jest.fn(
        (labels: Record<string, string>, value: number) => void set.set(Object.values(labels)[0], value),
      ),
      remove: jest.fn((labels: Record<string, string>) => void removed.push(Object.values(labels)[0])),
    } as MockMembers<Gauge>);
    collectors.get(metric)!(gauge);
    return { set: Object.fromEntries(set), removed };
  };
  return { loop, metrics, logger, business, scrape };
}

/** The failures counter's increments: `inc(0)` at start makes the series exist, `inc()` counts one. */
const failuresCounted = (failures: { inc: jest.Mock }) =>
  failures.inc.mock.calls.filter((c) => c.length === 0).length;

beforeEach(() => jest.useFakeTimers({ now: NOW, doNotFake: ['setImmediate', 'nextTick'] }));
afterEach(() => jest.useRealTimers());

describe('LearningLoopService in process (SQLite: one replica, no lock)', () => {
  const storing = () => ({ storeInsights: jest.fn(() => Promise.resolve()), latestInsightsAt: jest.fn() });

  it('starts its series at zero, before any recompute', async () => {
    const { metrics, scrape } = await loopWith({ postgres: false });
    expect(metrics.lastSuccess.set).toHaveBeenCalledWith(0);
    expect(metrics.failures.inc).toHaveBeenCalledWith(0);
    expect(scrape(METRICS.feedbackRatingAverage)).toEqual({
      set: {},
      removed: ['general', 'workflow', 'artwork'],
    });
    expect(scrape(METRICS.feedbackFlaggedTargets)).toEqual({ set: { workflow: 0, artwork: 0 }, removed: [] });
  });

  it('recomputes at start-up and then every interval, stores, serves and announces each, and timestamps the success', async () => {
    const repository = {
      ...storing(),
      newestNegative: jest.fn(() => Promise.resolve([{ tags: ['slow'], comment: 'too slow' }])),
    };
    const aggregates = rollups();
    const { loop, metrics, logger } = await loopWith({ postgres: false, repository, aggregates });
    loop.onApplicationBootstrap();
    await flush();

    expect(repository.storeInsights).toHaveBeenCalledTimes(1);
    const [at, trigger, stored, keptDays] = repository.storeInsights.mock.calls[0] as unknown as [
      Date,
      string,
      Record<string, unknown>,
      number,
    ];
    expect([at, trigger, keptDays]).toEqual([NOW, 'startup', 7]);
    expect(stored).toMatchObject({
      computed_at: NOW.toISOString(),
      trigger: 'startup',
      total_feedback: 3,
      average_rating: 3.67,
      average_rating_by_target_type: { general: null, workflow: 1, artwork: 5 },
      sentiment: { positive: 2, neutral: 0, negative: 1 },
      targets_total: 1,
      negative_feedback: { count: 1, top_tags: [{ value: 'slow', count: 1 }] },
      flagged_by_type: { artwork: 0, workflow: 1 },
    });
    // The catalog's styles (rated or not) and any other rated style are what the recommendations choose from.
    expect((stored.styles as Array<{ style: string }>).map((s) => s.style)).toEqual([
      'impressionist',
      'cubist',
      'not-in-the-catalog',
    ]);
    expect(metrics.lastSuccess.set).toHaveBeenLastCalledWith(NOW.getTime() / 1000);
    expect(metrics.end).toHaveBeenCalledTimes(1);
    expect(logger.logBusinessEvent).toHaveBeenCalledWith('feedback_insight_generated', {
      trigger: 'startup',
      total_feedback: 3,
      average_rating: 3.67,
      flagged_targets: 1,
      recommended_style: 'impressionist',
      negative_feedback: 1,
    });
    // What it serves is the insights alone, not the rankings and posteriors stored beside them.
    const served = loop.insights();
    expect(served).toMatchObject({ computed_at: NOW.toISOString(), total_feedback: 3 });
    expect(served).not.toHaveProperty('rankings');
    expect(served).not.toHaveProperty('styles');
    expect(served).not.toHaveProperty('flagged_by_type');

    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    await flush();
    expect(repository.storeInsights).toHaveBeenCalledTimes(2);
    expect(repository.storeInsights.mock.calls[1].slice(0, 2)).toEqual([
      new Date(NOW.getTime() + INTERVAL_MS),
      'schedule',
    ]);
    expect(loop.insights().trigger).toBe('schedule');
    // One replica: no lock (the repository has no asLeader here) and nobody else's insights to look for.
    expect(repository.latestInsightsAt).not.toHaveBeenCalled();
    expect(logger.logException).not.toHaveBeenCalled();
    expect(failuresCounted(metrics.failures)).toBe(0);
    await loop.onApplicationShutdown();
  });

  it('keeps the previous insights served when a recompute fails, counts the failure and logs it with their age', async () => {
    const repository = { ...storing(), newestNegative: jest.fn(() => Promise.resolve([])) };
    const aggregates = rollups();
    const { loop, metrics, logger } = await loopWith({ postgres: false, repository, aggregates });
    loop.onApplicationBootstrap();
    await flush();
    const before = loop.insights();

    const down = new Error('connect ECONNREFUSED');
    aggregates.cells!.mockImplementation(() => Promise.reject(down));
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    await flush();

    expect(failuresCounted(metrics.failures)).toBe(1);
    expect(logger.logException).toHaveBeenCalledWith(
      down,
      expect.stringContaining('the previous insights stay served'),
      {
        trigger: 'schedule',
        insights_computed_at: NOW.toISOString(),
      },
    );
    expect(loop.insights()).toEqual(before);
    // The last success stays the start-up's, so the staleness alert sees the failure; the attempt is still timed.
    expect(metrics.lastSuccess.set).toHaveBeenLastCalledWith(NOW.getTime() / 1000);
    expect(metrics.end).toHaveBeenCalledTimes(2);
    expect(repository.storeInsights).toHaveBeenCalledTimes(1);
    await loop.onApplicationShutdown();
  });

  it('serves the stored insights and computes nothing while the roll-ups are back-filled', async () => {
    const stored = storedBy(new Date(NOW.getTime() - 3_600_000), 42);
    const repository = {
      latestInsights: jest.fn(() => Promise.resolve(stored)),
      latestInsightsAt: jest.fn(),
    };
    const aggregates = rollups();
    const { loop, metrics } = await loopWith({ postgres: false, ready: false, repository, aggregates });
    loop.onApplicationBootstrap();
    await flush();
    expect(aggregates.cells).not.toHaveBeenCalled();
    expect(loop.insights().total_feedback).toBe(42);
    expect(metrics.lastSuccess.set).toHaveBeenLastCalledWith(stored.computedAt.getTime() / 1000);
    await loop.onApplicationShutdown();
  });

  it('lets concurrent recomputes share one', async () => {
    const repository = { ...storing(), newestNegative: jest.fn(() => Promise.resolve([])) };
    const aggregates = rollups();
    const { loop } = await loopWith({ postgres: false, repository, aggregates });
    const [a, b] = await Promise.all([loop.recompute('startup', NOW), loop.recompute('schedule', NOW)]);
    expect(b).toBe(a);
    // Three ranges of cells per recompute.
    expect(aggregates.cells).toHaveBeenCalledTimes(3);
    expect(repository.storeInsights).toHaveBeenCalledTimes(1);
  });

  it('sets the gauges from the insights served: averages by target type, flagged counts, catalog styles only', async () => {
    const repository = { ...storing(), newestNegative: jest.fn(() => Promise.resolve([])) };
    const { loop, scrape } = await loopWith({ postgres: false, repository, aggregates: rollups() });
    await loop.recompute('startup', NOW);
    expect(scrape(METRICS.feedbackRatingAverage)).toEqual({
      set: { workflow: 1, artwork: 5 },
      removed: ['general'],
    });
    expect(scrape(METRICS.feedbackFlaggedTargets)).toEqual({ set: { workflow: 1, artwork: 0 }, removed: [] });
    // A style outside the catalog gets no series (its name comes from clients); an unrated one has none.
    expect(scrape(METRICS.artworkStyleRatingAverage)).toEqual({
      set: { impressionist: 5 },
      removed: ['cubist'],
    });
  });

  it('recommends from the catalog before the first recompute, and counts each recommendation', async () => {
    const { loop, business } = await loopWith({ postgres: false });
    const chosen = loop.recommendedStyle();
    expect(CATALOG).toContain(chosen.style);
    expect(business.styleRecommended).toHaveBeenCalledWith(chosen.style, chosen.reason);
  });

  it('stops its timers on shutdown', async () => {
    const repository = { ...storing(), newestNegative: jest.fn(() => Promise.resolve([])) };
    const { loop } = await loopWith({ postgres: false, repository, aggregates: rollups() });
    loop.onApplicationBootstrap();
    await flush();
    await loop.onApplicationShutdown();
    await jest.advanceTimersByTimeAsync(10 * INTERVAL_MS);
    await flush();
    expect(repository.storeInsights).toHaveBeenCalledTimes(1);
  });
});

describe('LearningLoopService on PostgreSQL (replicas: one recomputes under an advisory lock, all serve the newest)', () => {
  /** The lock is free: asLeader runs the work, as pg_try_advisory_lock would let it. */
  const lockFree = () =>
    jest.fn((lock: number, work: () => Promise<unknown>) => (expect(lock).toBe(LOCK), work()));

  it('recomputes under the lock when no replica has stored insights within the interval', async () => {
    const repository = {
      asLeader: lockFree(),
      latestInsights: jest.fn(() =>
        Promise.resolve(storedBy(new Date(NOW.getTime() - 0.8 * INTERVAL_MS - 1), 1)),
      ),
      storeInsights: jest.fn(() => Promise.resolve()),
      newestNegative: jest.fn(() => Promise.resolve([])),
    };
    const { loop, logger } = await loopWith({ postgres: true, repository, aggregates: rollups() });
    loop.onApplicationBootstrap();
    await flush();
    expect(repository.asLeader).toHaveBeenCalledTimes(1);
    expect(repository.storeInsights).toHaveBeenCalledTimes(1);
    // Its own insights are served: no second read.
    expect(repository.latestInsights).toHaveBeenCalledTimes(1);
    expect(loop.insights().total_feedback).toBe(3);
    expect(logger.logException).not.toHaveBeenCalled();
    await loop.onApplicationShutdown();
  });

  it('serves what another replica stored within the interval instead of recomputing', async () => {
    const fresh = storedBy(new Date(NOW.getTime() - 0.8 * INTERVAL_MS + 1000), 42);
    const repository = { asLeader: lockFree(), latestInsights: jest.fn(() => Promise.resolve(fresh)) };
    const aggregates = rollups();
    const { loop, metrics, scrape } = await loopWith({ postgres: true, repository, aggregates });
    loop.onApplicationBootstrap();
    await flush();
    expect(aggregates.cells).not.toHaveBeenCalled();
    expect(loop.insights().total_feedback).toBe(42);
    expect(metrics.lastSuccess.set).toHaveBeenLastCalledWith(fresh.computedAt.getTime() / 1000);
    // The gauges follow the served insights, so every replica reports the same values.
    expect(scrape(METRICS.feedbackFlaggedTargets).set).toEqual({ workflow: 0, artwork: 3 });
    await loop.onApplicationShutdown();
  });

  it('serves the stored insights when another replica holds the lock', async () => {
    const stored = storedBy(new Date(NOW.getTime() - 5 * INTERVAL_MS), 7);
    const repository = {
      asLeader: jest.fn(() => Promise.resolve(false as const)),
      latestInsights: jest.fn(() => Promise.resolve(stored)),
    };
    const aggregates = rollups();
    const { loop, logger } = await loopWith({ postgres: true, repository, aggregates });
    loop.onApplicationBootstrap();
    await flush();
    expect(aggregates.cells).not.toHaveBeenCalled();
    expect(loop.insights().total_feedback).toBe(7);
    expect(logger.logException).not.toHaveBeenCalled();
    await loop.onApplicationShutdown();
  });

  it('between its intervals, loads insights another replica stored later than the ones it serves, and only those', async () => {
    let newest = storedBy(new Date(NOW.getTime() - 1000), 1);
    const repository = {
      asLeader: jest.fn(() => Promise.resolve(false as const)),
      latestInsights: jest.fn(() => Promise.resolve(newest)),
      latestInsightsAt: jest.fn(() => Promise.resolve(newest.computedAt)),
    };
    const { loop } = await loopWith({ postgres: true, repository });
    loop.onApplicationBootstrap();
    await flush();
    expect(repository.latestInsights).toHaveBeenCalledTimes(1);

    // A quarter interval later nothing new: one MAX, no load.
    await jest.advanceTimersByTimeAsync(INTERVAL_MS / 4);
    await flush();
    expect(repository.latestInsightsAt).toHaveBeenCalledTimes(1);
    expect(repository.latestInsights).toHaveBeenCalledTimes(1);

    newest = storedBy(new Date(Date.now()), 2);
    await jest.advanceTimersByTimeAsync(INTERVAL_MS / 4);
    await flush();
    expect(repository.latestInsights).toHaveBeenCalledTimes(2);
    expect(loop.insights().total_feedback).toBe(2);
    await loop.onApplicationShutdown();
  });

  it('counts and logs a failed interval, while a failed look between intervals only waits for the next', async () => {
    const down = new Error('Connection terminated unexpectedly');
    const repository = {
      asLeader: jest.fn(() => Promise.reject(down)),
      latestInsightsAt: jest.fn(() => Promise.reject(down)),
    };
    const { loop, metrics, logger } = await loopWith({ postgres: true, repository });
    loop.onApplicationBootstrap();
    await flush();
    expect(failuresCounted(metrics.failures)).toBe(1);
    expect(logger.logException).toHaveBeenCalledWith(down, expect.any(String), {
      trigger: 'startup',
      insights_computed_at: null,
    });

    await jest.advanceTimersByTimeAsync(INTERVAL_MS / 4);
    await flush();
    expect(repository.latestInsightsAt).toHaveBeenCalledTimes(1);
    expect(failuresCounted(metrics.failures)).toBe(1);
    expect(logger.logException).toHaveBeenCalledTimes(1);
    await loop.onApplicationShutdown();
  });
});
