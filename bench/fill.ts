/**
 * SQL that fills the feedback table with `count` rows numbered from `start`, spread as a year of a platform's
 * feedback would be: over 90 days, 50,000 workflows and artworks, 100,000 users, ratings skewed towards 4 and 5,
 * every 20th with a comment. Inserted straight into the table (as a restore would), so the roll-ups are
 * rebuilt after it. Deterministic: the same numbers give the same rows.
 */
export function fillStatement(postgres: boolean, start: number, count: number, nowMs: number): string {
  const end = start + count - 1;
  const series = postgres
    ? `generate_series(${start}::bigint, ${end}::bigint) AS s(i)`
    : `(WITH RECURSIVE n(i) AS (SELECT ${start} UNION ALL SELECT i + 1 FROM n WHERE i < ${end}) SELECT i FROM n) AS s`;
  const hex = postgres ? `lpad(to_hex(i), 12, '0')` : `printf('%012x', i)`;
  const pick = (values: string[], expr: string) =>
    `CASE ${expr} ${values.map((v, k) => `WHEN ${k} THEN '${v}'`).join(' ')} END`;
  const rating = `(CASE (i * 37) % 10 WHEN 0 THEN 1 WHEN 1 THEN 2 WHEN 2 THEN 3 WHEN 3 THEN 3 WHEN 4 THEN 4 WHEN 5 THEN 4 WHEN 6 THEN 4 ELSE 5 END)`;
  const seconds = `((i * 7919) % 7776000)`;
  const createdAt = postgres
    ? `to_timestamp(${nowMs / 1000} - ${seconds} - (i % 1000) / 1000.0) AT TIME ZONE 'UTC'`
    : `strftime('%Y-%m-%d %H:%M:%f', ${nowMs / 1000} - ${seconds} - (i % 1000) / 1000.0, 'unixepoch')`;
  const concat = (a: string, b: string) => `${a} || ${b}`;
  const text = (expr: string) => (postgres ? `(${expr})::text` : `CAST(${expr} AS TEXT)`);
  return `INSERT INTO feedback (id, target_type, target_id, rating, comment, category, tags, metadata, sentiment,
      user_id, request_id, idempotency_key, request_fingerprint, rater, created_at)
    SELECT ${concat("'00000000-0000-4000-8000-'", hex)},
      ${pick(['general', 'workflow', 'artwork'], 'i % 3')},
      CASE i % 3 WHEN 0 THEN NULL WHEN 1 THEN ${concat("'wf-'", text('(i * 7) % 25000'))}
        ELSE ${concat("'art-'", text('(i * 13) % 25000'))} END,
      ${rating},
      CASE WHEN i % 20 = 0 THEN 'slow render, the export broke' ELSE NULL END,
      ${pick(['quality', 'performance', 'usability', 'bug', 'feature_request', 'other'], '(i * 11) % 6')},
      '[]', NULL,
      CASE WHEN ${rating} >= 4 THEN 'positive' WHEN ${rating} = 3 THEN 'neutral' ELSE 'negative' END,
      ${concat("'u'", text('(i * 48271) % 100000'))}, NULL, NULL, NULL,
      ${concat("'user:u'", text('(i * 48271) % 100000'))},
      ${createdAt}
    FROM ${series}`;
}
