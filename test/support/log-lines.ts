import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The keys that appear twice in one object of a JSON text, at any depth (JSON.parse keeps the last and hides
 * the rest). Assumes valid JSON; a line that is not is reported by whoever parses it.
 */
export function duplicateKeys(json: string): string[] {
  const duplicates: string[] = [];
  // One set of keys per open object; null for an open array.
  const open: Array<Set<string> | null> = [];
  let expectingKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      const top = open[open.length - 1];
      if (expectingKey && top) {
        const key = json.slice(i + 1, j);
        if (top.has(key)) duplicates.push(key);
        top.add(key);
        expectingKey = false;
      }
      i = j;
    } else if (c === '{') {
      open.push(new Set());
      expectingKey = true;
    } else if (c === '[') {
      open.push(null);
    } else if (c === '}' || c === ']') {
      open.pop();
    } else if (c === ',') {
      expectingKey = open[open.length - 1] !== null && open.length > 0;
    }
  }
  return duplicates;
}

/**
 * Every line of the log files in `dir` (and of `console`, the JSON console output, when given) that writes a
 * key twice: the check every test app runs on its own lines when it stops, so that "one request_id per line"
 * holds for every line any suite writes, not only the lines of the test that looks.
 */
export function linesWithDuplicateKeys(dir: string, console = ''): string[] {
  const texts = [console];
  // A test may have put a file, or nothing, where the log directory was.
  if (statSync(dir, { throwIfNoEntry: false })?.isDirectory())
    for (const file of readdirSync(dir))
      if (file.includes('.log')) texts.push(readFileSync(join(dir, file), 'utf8'));
  return texts
    .flatMap((text) => text.split('\n'))
    .filter((line) => line.startsWith('{') && duplicateKeys(line).length > 0);
}

/** Throws when any line in `dir` (or `console`) writes a key twice. */
export function assertNoDuplicateKeys(dir: string, console = ''): void {
  const bad = linesWithDuplicateKeys(dir, console);
  if (bad.length > 0)
    throw new Error(
      `${bad.length} log lines write a key twice, e.g. (${duplicateKeys(bad[0]).join(', ')}):\n${bad[0]}`,
    );
}
