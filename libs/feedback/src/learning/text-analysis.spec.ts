import { sentimentOf, topCounts, words } from './text-analysis';

describe('text analysis', () => {
  it('splits words, dropping stop words and short ones', () => {
    expect(words("The map was SLOW, and it's broken at 3am!")).toEqual(['map', 'slow', "it's", 'broken']);
  });

  it.each([
    [5, null, 'positive'],
    [4, 'fine', 'positive'],
    [3, null, 'neutral'],
    [3, 'slow and broken', 'negative'],
    [3, 'smooth and lovely', 'positive'],
    [2, null, 'negative'],
    [2, 'great great great great', 'positive'],
    [1, 'love it', 'negative'],
  ])('rates %s with %j as %s', (rating, comment, expected) => {
    expect(sentimentOf(rating, comment)).toBe(expected);
  });

  it('counts the most frequent values', () => {
    expect(topCounts(['b', 'a', 'b', 'c', 'a', 'b'], 2)).toEqual([
      { value: 'b', count: 3 },
      { value: 'a', count: 2 },
    ]);
  });
});
