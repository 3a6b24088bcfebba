import type { Sentiment } from '../entities/feedback.entity';

const POSITIVE = new Set(
  'amazing awesome beautiful brilliant clear delightful easy excellent fantastic fast good great helpful impressive intuitive love loved lovely nice perfect pleasant quick reliable responsive smooth stunning useful wonderful'.split(
    ' ',
  ),
);
const NEGATIVE = new Set(
  'annoying awful bad broken bug buggy confusing crash crashed crashes difficult disappointing error errors fail failed failing fails frustrating hard hate laggy poor slow stuck terrible ugly unusable useless wrong'.split(
    ' ',
  ),
);
const STOPWORDS = new Set(
  'about after again all also and any are because been but can cannot could did does doing don for from had has have how into its just more most not now only other our out over really same should some such than that the their them then there these they this too very was were what when which while who why will with would you your'.split(
    ' ',
  ),
);

/** Lower-case words of three letters or more, without stop words. */
export function words(text: string | null | undefined): string[] {
  if (!text) return [];
  return (text.toLowerCase().match(/[a-z][a-z'-]{2,}/g) ?? []).filter((word) => !STOPWORDS.has(word));
}

/**
 * Sentiment from the rating, nudged by a small keyword lexicon: a 3 that says "slow and broken" is negative,
 * a 3 that says "smooth, lovely" is positive.
 */
export function sentimentOf(rating: number, comment: string | null | undefined): Sentiment {
  let lexicon = 0;
  for (const word of words(comment)) {
    if (POSITIVE.has(word)) lexicon++;
    else if (NEGATIVE.has(word)) lexicon--;
  }
  const score = (rating - 3) / 2 + 0.25 * Math.max(-4, Math.min(4, lexicon));
  return score > 0.25 ? 'positive' : score < -0.25 ? 'negative' : 'neutral';
}

/** The `limit` most frequent entries, most frequent first, ties by name. */
export function topCounts(items: Iterable<string>, limit = 10): Array<{ value: string; count: number }> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return [...counts]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value))
    .slice(0, limit);
}
