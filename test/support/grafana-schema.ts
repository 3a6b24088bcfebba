import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import ts from 'typescript';

// A dashboard JSON as TypeScript sees an object literal: the schema's string enums (ThresholdsMode and the
// like) become the unions of their values, which is what a JSON file can hold; everything else is unchanged.
const PRELUDE = `import type { Dashboard } from '@grafana/schema';
type Plain<T> = T extends string
  ? \`\${T}\`
  : T extends number | boolean | null | undefined
    ? T
    : T extends Array<infer U>
      ? Array<Plain<U>>
      : T extends object
        ? { [K in keyof T]: Plain<T[K]> }
        : T;
// The two keys Grafana's "export for sharing externally" adds, which the dashboard model itself leaves out.
type Shared = {
  __inputs?: Array<{ name: string; label: string; description?: string; type: 'datasource'; pluginId: string; pluginName: string }>;
  __requires?: Array<{ type: 'grafana' | 'datasource' | 'panel'; id: string; name: string; version: string }>;
};
`;

/**
 * Type-checks dashboard JSON against @grafana/schema's Dashboard with the TypeScript compiler: every dashboard
 * becomes `export const d = <json> satisfies Plain<Dashboard> & Shared`, so a wrong type, a missing required
 * field or an unknown key is a diagnostic. Returns the diagnostics, prefixed with the dashboard's name.
 */
export function checkDashboards(dashboards: Array<{ name: string; json: string }>): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'tc-grafana-schema-'));
  const files = dashboards.map(({ name, json }, i) => {
    const file = join(dir, `dashboard${i}.ts`);
    writeFileSync(file, `${PRELUDE}\nexport const d = ${json.trim()} satisfies Plain<Dashboard> & Shared;\n`);
    return { file, name };
  });
  const schemaTypes = join(
    dirname(require.resolve('@grafana/schema/package.json')),
    'dist',
    'types',
    'index.d.ts',
  );
  const program = ts.createProgram(
    files.map((f) => f.file),
    {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      baseUrl: dir,
      paths: { '@grafana/schema': [schemaTypes] },
      types: [],
    },
  );
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && files.some((f) => f.file === d.file!.fileName))
    .map((d) => {
      const name = files.find((f) => f.file === d.file!.fileName)!.name;
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      return `${name}:${line - PRELUDE.split('\n').length + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
}
