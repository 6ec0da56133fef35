import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withReference } from '../scripts/readme-stages.ts';
import { parsePipelineText } from '../src/config/load.ts';
import { resolvePipeline } from '../src/config/resolve.ts';
import { stageRegistry } from '../stages/index.ts';

describe('README', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  it('carries the stage reference generated from the schemas (run `npm run gen` after changing one)', () => {
    expect(readme).toBe(withReference(readme));
  });
  it('documents a pipeline that fedau accepts', () => {
    const example = /```yaml\n([\s\S]*?)```/.exec(readme)![1];
    const pipeline = resolvePipeline(parsePipelineText(example, 'README.md'), { registry: stageRegistry });
    expect(pipeline.matrix?.variants).toHaveLength(3);
    expect([...new Set(pipeline.stages.map((s) => s.kind))]).toEqual([
      'dataset',
      'partition',
      'train-federation',
      'retrain',
      'unlearn',
      'evaluate',
      'report',
    ]);
  });

  it('gives the two set-up commands, and .ci/run runs the test one', () => {
    const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
    const testCommand = ci.trim().split('\n').at(-1)!;
    expect(testCommand).toBe('npm ci && npm test');
    expect(readme).toContain(`\n${testCommand}\n`);
  });
});
