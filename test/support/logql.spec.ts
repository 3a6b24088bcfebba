import { logql } from './logql';

describe('logql (test helper)', () => {
  const lines = [
    '{"level":"ERROR","msg":"API Request","status_code":500}',
    '{"level":"WARN","msg":"API Request","status_code":404}',
    '{"level":"INFO","msg":"API Request","status_code":200}',
    '{"level":"BUSINESS","msg":"workflow_completed","event":"workflow_completed"}',
    '{"level":"BUSINESS","msg":"workflow_started"}',
    'not json API Request',
  ];

  it('filters by substring, parses JSON and compares numbers', () => {
    expect(logql('{job="terra_constellata"} |= "ERROR"', lines)).toEqual([lines[0]]);
    expect(logql('{job="terra_constellata"} |= "API Request" | json | status_code >= 400', lines)).toEqual([
      lines[0],
      lines[1],
    ]);
    expect(logql('{job="terra_constellata"} |= "workflow" |= "completed"', lines)).toEqual([lines[3]]);
  });

  it('rejects what it cannot evaluate instead of passing everything', () => {
    expect(() => logql('{job="x"} | logfmt', lines)).toThrow('unsupported LogQL stage: logfmt');
  });
});
