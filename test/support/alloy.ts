/**
 * A parser for the subset of Grafana Alloy's configuration syntax the repository uses (blocks with optional
 * labels, attributes, strings, numbers, booleans, lists, objects, dotted references, comments), so its config is
 * checked for shape without an Alloy binary. Anything outside the subset is a parse error, not a pass.
 */
export type AlloyValue =
  string | number | boolean | null | AlloyValue[] | { [key: string]: AlloyValue } | { ref: string };

export interface AlloyBlock {
  name: string;
  label?: string;
  attributes: Record<string, AlloyValue>;
  blocks: AlloyBlock[];
}

type Token = { kind: 'ident' | 'string' | 'number' | 'punct'; text: string; at: number };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (/\s/.test(c)) i++;
    else if (source.startsWith('//', i))
      i = source.indexOf('\n', i) === -1 ? source.length : source.indexOf('\n', i);
    else if (source.startsWith('/*', i)) {
      const end = source.indexOf('*/', i + 2);
      if (end === -1) throw new Error(`unterminated comment at ${i}`);
      i = end + 2;
    } else if (c === '"') {
      let j = i + 1;
      let text = '';
      while (source[j] !== '"') {
        if (j >= source.length || source[j] === '\n') throw new Error(`unterminated string at ${i}`);
        if (source[j] === '\\') {
          const escaped = source[j + 1];
          const map: Record<string, string> = { n: '\n', t: '\t', '\\': '\\', '"': '"', r: '\r' };
          if (!(escaped in map)) throw new Error(`unknown escape \\${escaped} at ${j}`);
          text += map[escaped];
          j += 2;
        } else text += source[j++];
      }
      tokens.push({ kind: 'string', text, at: i });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i))![0];
      tokens.push({ kind: 'ident', text: match, at: i });
      i += match.length;
    } else if (/[0-9]/.test(c)) {
      const match = /^[0-9]+(\.[0-9]+)?/.exec(source.slice(i))![0];
      tokens.push({ kind: 'number', text: match, at: i });
      i += match.length;
    } else if ('{}[]=,.'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, at: i });
      i++;
    } else throw new Error(`unexpected ${JSON.stringify(c)} at ${i}`);
  }
  return tokens;
}

export function parseAlloy(source: string): AlloyBlock {
  const tokens = tokenize(source);
  let p = 0;
  const peek = (offset = 0) => tokens[p + offset];
  const expect = (text: string) => {
    const token = tokens[p++];
    if (token?.text !== text)
      throw new Error(`expected ${text} at ${token?.at ?? 'end'}, got ${token?.text}`);
  };
  const dotted = () => {
    let name = tokens[p++].text;
    while (peek()?.text === '.' && peek(1)?.kind === 'ident') {
      p++;
      name += `.${tokens[p++].text}`;
    }
    return name;
  };
  function value(): AlloyValue {
    const token = peek();
    if (!token) throw new Error('unexpected end');
    if (token.kind === 'string') return (p++, token.text);
    if (token.kind === 'number') return (p++, Number(token.text));
    if (token.text === 'true' || token.text === 'false') return (p++, token.text === 'true');
    if (token.text === 'null') return (p++, null);
    if (token.text === '[') {
      p++;
      const list: AlloyValue[] = [];
      while (peek()?.text !== ']') {
        list.push(value());
        if (peek()?.text === ',') p++;
        else break;
      }
      expect(']');
      return list;
    }
    if (token.text === '{') {
      p++;
      const object: Record<string, AlloyValue> = {};
      while (peek()?.text !== '}') {
        const key = tokens[p++];
        if (key.kind !== 'ident' && key.kind !== 'string') throw new Error(`bad object key at ${key.at}`);
        expect('=');
        object[key.text] = value();
        if (peek()?.text === ',') p++;
        else break;
      }
      expect('}');
      return object;
    }
    if (token.kind === 'ident') return { ref: dotted() };
    throw new Error(`unexpected ${token.text} at ${token.at}`);
  }
  function body(into: AlloyBlock, until: string | undefined) {
    while (p < tokens.length && peek().text !== until) {
      if (peek().kind !== 'ident') throw new Error(`expected a name at ${peek().at}, got ${peek().text}`);
      const name = dotted();
      if (peek()?.text === '=') {
        p++;
        if (name in into.attributes) throw new Error(`attribute ${name} set twice`);
        into.attributes[name] = value();
      } else {
        const block: AlloyBlock = { name, attributes: {}, blocks: [] };
        if (peek()?.kind === 'string') block.label = tokens[p++].text;
        expect('{');
        body(block, '}');
        expect('}');
        into.blocks.push(block);
      }
    }
  }
  const root: AlloyBlock = { name: '', attributes: {}, blocks: [] };
  body(root, undefined);
  return root;
}
