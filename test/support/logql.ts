/**
 * Evaluates the LogQL pipeline subset the documented queries use, on lines read from a file:
 * `{selector} |= "text"`, `| json`, and a numeric comparison `| field >= n` (also >, <, <=, ==, !=).
 * The stream selector is not evaluated here: Promtail's labels are checked with its config.
 */
export function logql(query: string, lines: string[]): string[] {
  const stages = query
    .replace(/^\{[^}]*\}\s*/, '')
    .split(/\s*\|(?!=)\s*/)
    .filter(Boolean);
  let rows = lines.map((line) => ({ line, fields: undefined as Record<string, unknown> | undefined }));
  for (const raw of stages) {
    for (const stage of raw.split(/\s+(?=\|=)/)) {
      const contains = /^\|?=\s*"((?:[^"\\]|\\.)*)"$/.exec(stage.startsWith('|=') ? stage : `|${stage}`);
      if (stage.startsWith('|=') || (stage.startsWith('=') && contains)) {
        const needle = JSON.parse(`"${contains![1]}"`) as string;
        rows = rows.filter((row) => row.line.includes(needle));
      } else if (stage === 'json') {
        rows = rows.flatMap((row) => {
          try {
            return [{ line: row.line, fields: JSON.parse(row.line) as Record<string, unknown> }];
          } catch {
            return [];
          }
        });
      } else {
        const cmp = /^(\w+)\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)$/.exec(stage);
        if (!cmp) throw new Error(`unsupported LogQL stage: ${stage}`);
        const [, field, op, n] = cmp;
        const limit = Number(n);
        rows = rows.filter((row) => {
          const value = Number(row.fields?.[field]);
          if (Number.isNaN(value)) return false;
          return {
            '>=': value >= limit,
            '<=': value <= limit,
            '==': value === limit,
            '!=': value !== limit,
            '>': value > limit,
            '<': value < limit,
          }[op];
        });
      }
    }
  }
  return rows.map((row) => row.line);
}
