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
  util: [],
  generated: [],
  artifacts: ['util', 'generated'],
  engine: ['util', 'artifacts'],
  config: ['util', 'artifacts', 'engine'],
  data: ['util', 'artifacts', 'engine', 'generated'],
  ml: ['util', 'artifacts', 'engine', 'data', 'generated'],
  report: ['util', 'artifacts', 'engine'],
  ui: ['util', 'engine', 'cluster'],
  cluster: ['util', 'artifacts', 'engine', 'ml'],
  stages: ['util', 'artifacts', 'engine', 'data', 'ml', 'report', 'generated', 'cluster'],
  // A cluster worker runs stages for a coordinator: the one part of the cluster that knows the stage registry.
  'cluster/worker': ['util', 'artifacts', 'engine', 'config', 'data', 'ml', 'cluster', 'stages'],
  api: ['util', 'artifacts', 'engine', 'config', 'stages', 'ml'],
  cli: [
    'util',
    'artifacts',
    'engine',
    'config',
    'data',
    'ml',
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
    expect(relativeImports('src/ml/backend.ts')).toEqual(
      expect.arrayContaining(['src/engine/errors.ts', 'src/ml/tf.ts', 'src/ml/wasm-kernels/index.ts']),
    );
    expect(['src/index.ts', 'src/ml/worker.ts', 'stages/report.ts'].map(layerOf)).toEqual(['api', 'ml', 'stages']);
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
});
