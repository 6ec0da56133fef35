import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.ts';

/**
 * The layers of fedau, each allowed to import only from the ones listed (and itself). Lower layers know nothing
 * of higher ones: the engine schedules and stores without knowing what FedAU is, the artifact formats know no
 * training code, and the UI only consumes events.
 */
const ALLOWED: Record<string, string[]> = {
  core: [],
  generated: [],
  artifacts: ['core', 'generated'],
  engine: ['core', 'artifacts'],
  config: ['core', 'artifacts', 'engine'],
  data: ['core', 'artifacts', 'engine', 'generated'],
  ml: ['core', 'artifacts', 'engine', 'data', 'generated'],
  fl: ['core', 'artifacts', 'engine', 'data', 'ml', 'generated'],
  report: ['core', 'artifacts', 'engine'],
  ui: ['core', 'engine', 'cluster'],
  cluster: ['core', 'artifacts', 'engine', 'ml', 'fl'],
  stages: ['core', 'artifacts', 'engine', 'data', 'ml', 'fl', 'report', 'generated'],
  // A cluster worker runs stages for a coordinator: the one part of the cluster that knows the stage registry.
  'cluster/worker': ['core', 'artifacts', 'engine', 'config', 'data', 'ml', 'fl', 'cluster', 'stages'],
  api: ['core', 'artifacts', 'engine', 'config', 'stages', 'ml', 'fl'],
  cli: [
    'core',
    'artifacts',
    'engine',
    'config',
    'data',
    'ml',
    'fl',
    'report',
    'ui',
    'stages',
    'api',
    'generated',
    'cluster',
    'cluster/worker',
  ],
};

/** src/<layer>/..., stages/... and the API modules at the top of src/. */
function layerOf(file: string): string {
  const [top, second, third, fourth] = file.split('/');
  if (top === 'stages') return 'stages';
  if (top === 'src' && third === undefined) return 'api';
  if (second === 'cluster' && third === 'worker' && fourth !== undefined) return 'cluster/worker';
  return second;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx|mjs)$/.test(name) ? [path] : [];
  });
}

function relativeImports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]);
  return specs.map((spec) => relative(ROOT, normalize(join(ROOT, dirname(file), spec))));
}

describe('architecture', () => {
  it('reads the imports of a module, static and dynamic, and places files in layers', () => {
    expect(relativeImports('src/ml/backends/backend.ts')).toEqual(
      expect.arrayContaining(['src/core/errors.ts', 'src/ml/backends/tf.ts', 'src/ml/kernels/wasm/index.ts']),
    );
    expect(
      ['src/index.ts', 'src/ml/runners/trainer-thread.ts', 'stages/report.ts', 'src/cluster/worker/worker.ts'].map(
        layerOf,
      ),
    ).toEqual(['api', 'ml', 'stages', 'cluster/worker']);
  });

  it('no import runs against the layers', () => {
    const violations: string[] = [];
    for (const file of [...sourceFiles('src'), ...sourceFiles('stages')]) {
      const from = layerOf(file);
      expect(ALLOWED[from], `${file} is in no known layer`).toBeDefined();
      for (const target of relativeImports(file)) {
        const to = layerOf(target);
        if (to !== from && !ALLOWED[from].includes(to)) violations.push(`${file} (${from}) imports ${target} (${to})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('the engine knows nothing of training: no backend, tfjs or rounds in its code', () => {
    const named = sourceFiles('src/engine').filter((f) =>
      /backend|tfjs|rounds/i.test(readFileSync(join(ROOT, f), 'utf8')),
    );
    expect(named).toEqual([]);
  });

  it('nothing shipped or benchmarked imports the tests', () => {
    const offenders = [...sourceFiles('src'), ...sourceFiles('stages'), ...sourceFiles('bench')].filter((f) =>
      relativeImports(f).some((t) => t.startsWith('test/')),
    );
    expect(offenders).toEqual([]);
  });

  it('no source file over 300 lines, no function over 100 (scripts/check-size.mjs, run by the lint)', async () => {
    const { sizeProblems, longFunctions } = await import('../scripts/check-size.mjs');
    const long = `function f() {\n${'  x++;\n'.repeat(120)}}\nconst g = () => 1;\n`;
    expect(longFunctions(long, 'x.ts').map((f: { name: string }) => f.name)).toEqual(['f']);
    expect(sizeProblems()).toEqual([]);
  });

  it('every "design §N" the code cites is a section of docs/design.md', () => {
    const design = readFileSync(join(ROOT, 'docs/design.md'), 'utf8');
    const sections = new Set([...design.matchAll(/^#{2,3} ([0-9.]+?)\.? /gm)].map((m) => m[1]));
    expect(sections.has('7.2')).toBe(true);
    const dangling = [...sourceFiles('src'), ...sourceFiles('stages'), ...sourceFiles('bench')].flatMap((file) =>
      [...readFileSync(join(ROOT, file), 'utf8').matchAll(/design(?:\.md)? §([0-9]+(?:\.[0-9]+)?)/g)]
        .filter((m) => !sections.has(m[1]))
        .map((m) => `${file} cites design §${m[1]}`),
    );
    expect(dangling).toEqual([]);
  });
});
