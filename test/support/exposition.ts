export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const EXEMPLAR = / # \{[^}]*\} \S+(?: \S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the Prometheus text format or OpenMetrics into samples (comments and exemplars dropped). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = LINE.exec(line.replace(EXEMPLAR, ''));
    if (!match) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample with this name and exactly these labels; throws when no such series exists. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const value = lookup(samples, name, labels);
  if (value === undefined)
    throw new Error(
      `no series ${name}${JSON.stringify(labels)} in the exposition (a typo, or a missing label?)`,
    );
  return value;
}

/**
 * As valueOf, but 0 when the series does not exist: for the scrape taken before an action, when the action is
 * what creates the series. Read the scrape after it with valueOf.
 */
export function valueOrZero(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return lookup(samples, name, labels) ?? 0;
}

function lookup(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  const found = samples.filter(
    (s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === wanted,
  );
  if (found.length > 1) throw new Error(`${name} ${wanted} matched ${found.length} samples`);
  return found[0]?.value;
}

/** Distinct label sets per metric family, with a histogram's buckets, sum and count counted as one series. */
export function seriesOf(samples: Sample[], familyPrefix = ''): Set<string> {
  const series = new Set<string>();
  for (const s of samples) {
    if (!s.name.startsWith(familyPrefix)) continue;
    const family = s.name.replace(/_(bucket|sum|count)$/, '');
    const labels = Object.entries(s.labels)
      .filter(([key]) => key !== 'le')
      .sort();
    series.add(`${family}${JSON.stringify(labels)}`);
  }
  return series;
}
