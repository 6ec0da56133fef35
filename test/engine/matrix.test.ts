import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { ConfigErrors } from '../../src/config/ajv-errors.ts';
import { parsePipelineText } from '../../src/config/load.ts';
import { resolvePipeline } from '../../src/config/resolve.ts';
import { formatError } from '../../src/core/errors.ts';
import { ArtifactStore } from '../../src/engine/store.ts';
import { fakeSchemas, makeFakeRegistry } from '../helpers/fake-stages.ts';
import { fakeWorkspace } from '../helpers/run-inline.ts';

// value → constant (shared: no seed, no varied param) + source (seeded) → add → picky → collect (gathers).
const PIPELINE = (matrix: string) => `
name: m
${matrix}
stages:
  base: { uses: constant, with: { value: 100 } }
  a: { uses: source, with: { value: 1 } }
  s: { uses: add, needs: { a: a.out, b: base.out } }
  p: { uses: picky, needs: { x: s.sum } }
  all: { uses: collect, needs: { x: p.out } }
`;

function resolve(yaml: string, matrix: string[] = []) {
  const { registry } = makeFakeRegistry(() => () => undefined);
  return resolvePipeline(parsePipelineText(yaml, 'm.yaml'), { registry, schemas: fakeSchemas(), matrix });
}

describe('matrix: seeds and sweeps', () => {
  it('expands into instances with readable ids; stages that depend on no varied value are shared', () => {
    const p = resolve(PIPELINE('matrix: { seed: [0, 1], a.value: [2, 3] }'));
    expect(p.matrix!.variants.map((v) => v.id)).toEqual([
      'seed=0,a.value=2',
      'seed=0,a.value=3',
      'seed=1,a.value=2',
      'seed=1,a.value=3',
    ]);
    expect(p.stages.map((s) => s.id)).toEqual([
      'base',
      'a[seed=0,a.value=2]',
      'a[seed=0,a.value=3]',
      'a[seed=1,a.value=2]',
      'a[seed=1,a.value=3]',
      's[seed=0,a.value=2]',
      's[seed=0,a.value=3]',
      's[seed=1,a.value=2]',
      's[seed=1,a.value=3]',
      'p[seed=0,a.value=2]',
      'p[seed=0,a.value=3]',
      'p[seed=1,a.value=2]',
      'p[seed=1,a.value=3]',
      'all',
    ]);
    const a = p.stages.find((s) => s.id === 'a[seed=1,a.value=3]')!;
    expect(a.params.value).toBe(3);
    expect(a.seed).not.toBe(p.stages.find((s) => s.id === 'a[seed=0,a.value=3]')!.seed);
    expect(p.stages.find((s) => s.id === 's[seed=1,a.value=3]')!.needs).toEqual({
      a: { stage: 'a[seed=1,a.value=3]', output: 'out' },
      b: { stage: 'base', output: 'out' },
    });
    expect(Object.keys(p.stages.at(-1)!.needs)).toEqual(p.matrix!.variants.map((v) => `x@${v.id}`));
  });

  it("--matrix adds keys and replaces the file's values for the same key", () => {
    const p = resolve(PIPELINE('matrix: { seed: [0, 1] }'), ['seed=5', 'a.value=7,8']);
    expect(p.matrix!.dims).toEqual([
      { key: 'seed', values: [5] },
      { key: 'a.value', values: [7, 8] },
    ]);
  });

  it('rejects keys that name nothing, values that fail the param schema, and varying a gathering stage', () => {
    const problems = (yaml: string, matrix: string[] = []) => {
      try {
        resolve(yaml, matrix);
      } catch (error) {
        return (error as ConfigErrors).errors.map((e) => formatError(e));
      }
      throw new Error('expected errors');
    };
    const errors = problems(PIPELINE('matrix: { b.value: [1], seed: [-1], all.x: [1] }'), ['a.value=x']);
    expect(errors.join('\n')).toContain('m.yaml:3:11  matrix.b.value: matrix key "b.value" names no stage param');
    expect(errors.join('\n')).toContain('hint: did you mean "base"?');
    expect(errors.join('\n')).toContain('a matrix seed must be a whole number from 0');
    expect(errors.join('\n')).toContain('varies the collect stage, which gathers every variant');
    expect(errors.join('\n')).toContain('--matrix a.value=x: matrix key "a.value": x must be a number');
  });

  it('runs each instance once, shares the rest, and a failed variant does not stop the others', async () => {
    const ws = await fakeWorkspace();
    // p refuses 102 (a.value 2 plus base 100): that variant fails, the others reach the gathering stage.
    const yaml = PIPELINE('matrix: { seed: [0, 1], a.value: [2, 3] }').replace(
      '{ uses: picky, needs: { x: s.sum } }',
      '{ uses: picky, needs: { x: s.sum }, with: { refuse: 102 } }',
    );
    const { result, events } = await ws.run(yaml);
    expect(ws.calls.constant).toHaveBeenCalledTimes(1);
    expect(ws.calls.source).toHaveBeenCalledTimes(4);
    expect(ws.calls.add).toHaveBeenCalledTimes(4);
    expect(ws.calls.picky).toHaveBeenCalledTimes(4);
    expect(ws.calls.collect).toHaveBeenCalledTimes(1);
    expect(result.status).toBe('failure');
    expect(result.counts).toEqual({ success: 12, cached: 0, failure: 2, skipped: 0 });
    const all = result.stages.all;
    expect(all.status).toBe('success');
    const gathered = await readFile(new ArtifactStore(ws.store).objectPath(all.outputs!.out.digest), 'utf8');
    expect(gathered).toBe('seed=0,a.value=3=103;seed=1,a.value=3=103');
    expect(events.filter((e) => e.type === 'stage:skipped')).toEqual([]);

    // Again: everything that succeeded is cached, and the failed variants run (and fail) again.
    const again = await ws.run(yaml);
    expect(again.result.counts).toEqual({ success: 0, cached: 12, failure: 2, skipped: 0 });
  });

  it('a gathering stage whose every variant failed is skipped', async () => {
    const ws = await fakeWorkspace();
    const yaml = PIPELINE('matrix: { a.value: [2] }').replace(
      '{ uses: picky, needs: { x: s.sum } }',
      '{ uses: picky, needs: { x: s.sum }, with: { refuse: 102 } }',
    );
    const { result } = await ws.run(yaml);
    expect(result.stages.all.status).toBe('skipped');
    expect(ws.calls.collect).not.toHaveBeenCalled();
  });
});
