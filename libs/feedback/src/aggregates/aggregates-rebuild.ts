import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { RATED_TARGETS, type FeedbackAggregatesRepository } from './feedback-aggregates.repository';

const DAY_MS = 86_400_000;
/** Rated rows recounted per target transaction. */
export const TARGET_SLICE_ROWS = 20_000;
const PROGRESS_EVERY_MS = 1000;

export interface RebuildSummary {
  days: number;
  rows: number;
  ratedRows: number;
  durationMs: number;
}

const nextDayKey = (day: string) =>
  new Date(new Date(`${day}T00:00:00Z`).getTime() + DAY_MS).toISOString().slice(0, 10);
const daysBetween = (a: string, b: string) =>
  Math.round((new Date(`${b}T00:00:00Z`).getTime() - new Date(`${a}T00:00:00Z`).getTime()) / DAY_MS) + 1;

/**
 * Recounts every roll-up from the stored rows: day by day (hour, day, then all-time roll-ups), then the targets
 * in slices of TARGET_SLICE_ROWS rows, each slice one short transaction, so the service keeps writing meanwhile
 * and every row counts once. `progress` receives a line at most once a second and at the end.
 */
export async function rebuildAggregates(
  repository: FeedbackAggregatesRepository,
  progress: (line: string) => void | Promise<void>,
  signal?: AbortSignal,
): Promise<RebuildSummary> {
  const started = Date.now();
  let reported = 0;
  const report = async (line: string, force = false) => {
    if (!force && Date.now() - reported < PROGRESS_EVERY_MS) return;
    reported = Date.now();
    await progress(line);
  };
  const runner = repository.runner;

  const last = await repository.lastDay();
  let day = await repository.nextDay(null);
  const spanDays = day && last ? daysBetween(day, last) : 0;
  let days = 0;
  let rows = 0;
  await report(`Rebuilding feedback aggregates: roll-ups of ${spanDays} days, then targets`, true);
  while (day) {
    const current = day;
    rows += await runner.transaction(() => repository.rebuildDay(current));
    days++;
    await report(
      `Rebuilding feedback aggregates: roll-ups ${current} (${daysBetween(current, last ?? current)} days left), ${rows} rows counted`,
    );
    day = await repository.nextDay(nextDayKey(current));
    // SQLite runs each slice synchronously: let requests in between.
    await yieldToEventLoop();
    signal?.throwIfAborted();
  }
  await runner.transaction(() => repository.rebuildAllTime());

  let ratedRows = 0;
  for (const type of RATED_TARGETS) {
    let after: string | null = null;
    for (;;) {
      const upTo = await repository.targetBoundary(type, after, TARGET_SLICE_ROWS);
      const from = after;
      ratedRows += await runner.transaction(() => repository.rebuildTargets(type, from, upTo));
      await report(
        `Rebuilding feedback aggregates: ${type} targets up to ${upTo ?? 'the last'}, ${ratedRows} rated rows counted`,
      );
      await yieldToEventLoop();
      signal?.throwIfAborted();
      if (upTo === null) break;
      after = upTo;
    }
  }
  const summary = { days, rows, ratedRows, durationMs: Date.now() - started };
  await report(
    `Rebuilt feedback aggregates: ${rows} rows over ${days} days, ${ratedRows} rated rows, in ${(summary.durationMs / 1000).toFixed(1)} s`,
    true,
  );
  return summary;
}
