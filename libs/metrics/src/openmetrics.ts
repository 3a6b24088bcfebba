/**
 * prom-client's Prometheus text exposition as OpenMetrics 1.0 (without the closing `# EOF`). prom-client can
 * render OpenMetrics itself, but only from a registry whose every scrape is OpenMetrics: rendering one renames
 * each counter in place (drops `_total` from the metric object's name), so the same metrics could never again be
 * rendered in the text format (prom-client 15.1.3). The text format is close enough to convert: counter
 * families lose `_total` in HELP and TYPE, `untyped` becomes `unknown`, HELP escapes double quotes, and blank
 * lines go. A counter named without `_total` (OpenMetrics needs its samples to end in it) is declared
 * `unknown`, so its series keep their names.
 */
export function textToOpenMetrics(text: string): string {
  const counters = new Set<string>();
  for (const match of text.matchAll(/^# TYPE (\S+) counter$/gm)) counters.add(match[1]);
  let out = '';
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
    if (!meta) {
      out += `${line}\n`;
      continue;
    }
    const [, kind, name, rest = ''] = meta;
    const counter = counters.has(name);
    const family = counter && name.endsWith('_total') ? name.slice(0, -'_total'.length) : name;
    if (kind === 'HELP') out += `# HELP ${family} ${rest.replaceAll('"', '\\"')}\n`;
    else {
      const type = rest === 'untyped' || (counter && family === name) ? 'unknown' : rest;
      out += `# TYPE ${family} ${type}\n`;
    }
  }
  return out;
}
