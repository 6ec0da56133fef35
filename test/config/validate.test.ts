import { describe, expect, it } from 'vitest';
import { ConfigErrors } from '../../src/config/ajv-errors.ts';
import { parsePipelineText } from '../../src/config/load.ts';
import { parseMatrixFlag } from '../../src/config/matrix.ts';
import { resolvePipeline } from '../../src/config/resolve.ts';
import { ConfigError, formatError } from '../../src/core/errors.ts';
import { fakeSchemas, makeFakeRegistry } from '../helpers/fake-stages.ts';

const { registry } = makeFakeRegistry(() => () => undefined);
const schemas = fakeSchemas();

function errorsOf(yaml: string, sets: string[] = []): ConfigError[] {
  try {
    resolvePipeline(parsePipelineText(yaml, 'pipes/exp.yaml'), { registry, schemas, sets });
  } catch (error) {
    if (error instanceof ConfigErrors) return error.errors;
    if (error instanceof ConfigError) return [error];
    throw error;
  }
  throw new Error('expected the pipeline to be rejected');
}

/** The one error, rendered as the user sees it. */
function only(yaml: string, sets: string[] = []): { error: ConfigError; text: string } {
  const errors = errorsOf(yaml, sets);
  expect(errors).toHaveLength(1);
  return { error: errors[0], text: formatError(errors[0]) };
}

describe('pipeline validation: every error names file:line:col, the YAML path, and a hint', () => {
  it('YAML syntax errors', () => {
    const { error, text } = only('name: x\nstages:\n  a: { uses: source\n  b: 1\n');
    expect(error.code).toBe('FEDAU_CONFIG_PARSE');
    expect(text).toMatch(/^✖ pipes\/exp\.yaml:\d+:\d+: invalid YAML/);
    expect(error.info.line).toBeGreaterThanOrEqual(3);
  });

  it('an alias bomb (anchors of anchors expanding to millions of nodes) is a located config error', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const [prev, name] of [...'abcdefg'].slice(0, -1).map((c, i) => [c, 'bcdefg'[i]])) {
      levels.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    }
    const { error, text } = only(`name: x\n${levels.join('\n')}\nstages: {}\n`);
    expect(error.code).toBe('FEDAU_CONFIG_PARSE');
    expect(text).toMatch(/^✖ pipes\/exp\.yaml:3:\d+: the YAML's anchors and aliases expand to too many nodes/);
    expect(text).toContain('expected at most 10000 nodes from aliases');
    expect(text).not.toMatch(/\n\s+at /);
  });

  it('a few anchors and aliases sharing params between stages are fine', () => {
    const yaml = 'name: x\nstages:\n  a: { uses: source, with: &v { value: 3 } }\n  b: { uses: source, with: *v }\n';
    const pipeline = resolvePipeline(parsePipelineText(yaml, 'p.yaml'), { registry, schemas });
    expect(pipeline.stages.map((s) => s.params.value)).toEqual([3, 3]);
  });

  it('duplicate keys', () => {
    const { error } = only('name: x\nname: y\nstages: {}\n');
    expect(error.code).toBe('FEDAU_CONFIG_PARSE');
    expect(error.info).toMatchObject({ file: 'pipes/exp.yaml', line: 2 });
  });

  it('unknown top-level keys and missing required ones', () => {
    const errors = errorsOf('nmae: x\nstages:\n  a: { uses: source }\n');
    const text = errors.map((e) => formatError(e)).join('\n');
    expect(text).toContain('pipes/exp.yaml:1:1  nmae: unknown key "nmae"');
    expect(text).toContain('did you mean "name"?');
    expect(text).toContain('missing required key "name"');
  });

  it('unknown stage kind, with "did you mean"', () => {
    const { error, text } = only('name: x\nstages:\n  a:\n    uses: sourse\n');
    expect(error.code).toBe('FEDAU_UNKNOWN_STAGE_KIND');
    expect(text).toContain('pipes/exp.yaml:4:11  stages.a.uses: unknown stage kind "sourse"');
    expect(text).toContain('expected a stage kind, got "sourse"');
    expect(text).toContain('hint: did you mean "source"?');
  });

  it('unknown params point at the key, with "did you mean"', () => {
    const { error, text } = only('name: x\nstages:\n  a: { uses: source, with: { valeu: 3 } }\n');
    expect(error.info).toMatchObject({ line: 3, col: 30, path: 'stages.a.with.valeu' });
    expect(text).toContain('unknown param "valeu"');
    expect(text).toContain('did you mean "value"?');
  });

  it('mistyped and out-of-range params give expected vs got and the param description', () => {
    const errors = errorsOf(
      'name: x\nstages:\n  a: { uses: source, with: { value: "three" } }\n  m: { uses: mod, with: { by: -1 } }\n',
    );
    const [typeErr, rangeErr] = errors.map((e) => formatError(e));
    expect(typeErr).toContain('pipes/exp.yaml:3:37  stages.a.with.value: must be a number');
    expect(typeErr).toContain('expected number, got the string "three"');
    expect(typeErr).toContain('hint: a number');
    expect(rangeErr).toContain('pipes/exp.yaml:4:31  stages.m.with.by: must be > 0');
    expect(rangeErr).toContain('got number -1');
  });

  it('an input that refers to a stage that does not exist, with "did you mean"', () => {
    const { error, text } = only(
      'name: x\nstages:\n  first: { uses: source }\n  d: { uses: double, needs: { x: frist.out } }\n',
    );
    expect(error.code).toBe('FEDAU_MISSING_INPUT');
    expect(text).toContain(
      'pipes/exp.yaml:4:34  stages.d.needs.x: refers to "frist.out", but no stage is called "frist"',
    );
    expect(text).toContain('did you mean "first"?');
  });

  it('an input that refers to an output that does not exist', () => {
    const { text } = only('name: x\nstages:\n  a: { uses: source }\n  d: { uses: double, needs: { x: a.output } }\n');
    expect(text).toContain('stages.d.needs.x: refers to "a.output", but stage "a" (source) has no output "output"');
    expect(text).toContain('did you mean "out"?');
  });

  it('a missing input', () => {
    const { error, text } = only('name: x\nstages:\n  a: { uses: source }\n  s: { uses: add, needs: { a: a.out } }\n');
    expect(error.code).toBe('FEDAU_MISSING_INPUT');
    expect(error.info).toMatchObject({ line: 4, path: 'stages.s.needs' });
    expect(text).toContain('stage "s" (add) is missing its input "b" (a metrics)');
    expect(text).toContain('outputs of that kind here: a.out');
  });

  it('an input the kind does not have', () => {
    const { text } = only(
      'name: x\nstages:\n  a: { uses: source }\n  d: { uses: double, needs: { x: a.out, y: a.out } }\n',
    );
    expect(text).toContain('stages.d.needs.y: stage kind "double" has no input "y"');
  });

  it('an input of the wrong artifact kind', () => {
    const reg = { ...registry, model: { ...registry.source, kind: 'model', outputs: { out: 'model' as const } } };
    const set = fakeSchemas();
    set.stages.set('model', set.stages.get('source')!);
    let caught: ConfigErrors | undefined;
    try {
      resolvePipeline(
        parsePipelineText(
          'name: x\nstages:\n  m: { uses: model }\n  d: { uses: double, needs: { x: m.out } }\n',
          'pipes/exp.yaml',
        ),
        { registry: reg, schemas: set },
      );
    } catch (error) {
      caught = error as ConfigErrors;
    }
    const text = formatError(caught!.errors[0]);
    expect(caught!.errors[0].code).toBe('FEDAU_INPUT_KIND');
    expect(text).toContain(
      'pipes/exp.yaml:4:34  stages.d.needs.x: input "x" of "d" needs a metrics artifact, but "m.out" is a model',
    );
    expect(text).toContain('expected metrics, got model');
  });

  it('cycles, naming the loop', () => {
    const { error, text } = only(
      'name: x\nstages:\n  a: { uses: source }\n' +
        '  p: { uses: add, needs: { a: a.out, b: q.out } }\n  q: { uses: double, needs: { x: p.sum } }\n',
    );
    expect(error.code).toBe('FEDAU_GRAPH_CYCLE');
    expect(text).toMatch(/the stages form a cycle: (p → q → p|q → p → q)/);
    expect(text).toMatch(/pipes\/exp\.yaml:\d+:\d+ {2}stages\.[pq]\.needs/);
  });

  it('reports every problem at once', () => {
    const errors = errorsOf(
      'name: x\nstages:\n  a: { uses: nope }\n  b: { uses: source, with: { v: 1 } }\n' +
        '  c: { uses: double, needs: { x: zz.out } }\n',
    );
    expect(errors.map((e) => e.info.path)).toEqual(['stages.a.uses', 'stages.b.with.v', 'stages.c.needs.x']);
  });

  it('--set overrides are validated and errors point at the flag', () => {
    const { text } = only('name: x\nstages:\n  a: { uses: source }\n', ['a.value=oops']);
    expect(text).toContain('--set a.value=oops  stages.a.with.value: must be a number');
    const unknownStage = only('name: x\nstages:\n  a: { uses: source }\n', ['b.value=1']).text;
    expect(unknownStage).toContain('--set names stage "b"');
    expect(unknownStage).toContain('did you mean "a"?');
  });

  it('--set and --matrix paths that reach a prototype are refused in one clear error', () => {
    const yaml = 'name: x\nstages:\n  a: { uses: source }\n';
    for (const expr of ['constructor.x=1', 'a.__proto__.value=7', 'a.prototype=1', '__proto__=1']) {
      const { error, text } = only(yaml, [expr]);
      expect(error.code).toBe('FEDAU_USAGE');
      expect(text).toMatch(/--set names "(__proto__|constructor|prototype)", which is not a stage, a param/);
    }
    expect(() => parseMatrixFlag('a.constructor=1,2')).toThrow(/--matrix names "constructor"/);
    // The document's own objects are untouched: nothing was written through a prototype.
    expect(({} as Record<string, unknown>).value).toBeUndefined();
  });

  it('applies defaults and overrides to the resolved params', () => {
    const p = resolvePipeline(parsePipelineText('name: x\nstages:\n  m: { uses: mod }\n', 'p.yaml'), {
      registry,
      schemas,
      sets: ['m.value=7', 'seed=3'],
    });
    expect(p.stages[0].params).toEqual({ value: 7, by: 10 });
    expect(p.seed).toBe(3);
  });
});
